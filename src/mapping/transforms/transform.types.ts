// The contract every named transform follows. A transform is a pure function of one value (plus its
// validated args and read access to the record being mapped); it throws TransformError on bad input
// rather than returning something silently wrong, so the engine can quarantine the record with a reason.
import type { z } from 'zod';

export type MappingDirection = 'inbound' | 'outbound';

export interface TransformContext {
  readonly direction: MappingDirection;
  /** Reads another field of the record being mapped: a vendor path inbound, a canonical field outbound. */
  get(path: string): unknown;
}

/** `args` is the output of the transform's args schema, parsed once when the mapping is loaded. */
export type TransformFn<A = unknown> = (value: unknown, args: A, ctx: TransformContext) => unknown;

export interface TransformDefinition<A = unknown> {
  readonly name: string;
  readonly fn: TransformFn<A>;
  /** Validates (and may pre-compute) the args written in the mapping file; undefined when written bare. */
  readonly args: z.ZodType<A, any>;
}

/** A bad input value. The message names the problem, not the field: the engine adds the field. */
export class TransformError extends Error {
  override readonly name = 'TransformError';
}

export function defineTransform<A>(
  name: string,
  args: z.ZodType<A, any>,
  fn: TransformFn<A>,
): TransformDefinition<A> {
  return { name, args, fn };
}
