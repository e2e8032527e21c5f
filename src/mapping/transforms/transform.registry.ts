// The closed set of named transforms a mapping file may use: the built-ins plus those a connector
// registers for what only its vendor needs. Names are resolved and args validated when a mapping is
// loaded, so the per-record path calls a ready closure and never looks anything up or parses anything.
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { choiceTransforms } from './choice.transforms';
import { countryTransforms } from './country.transforms';
import { dateTransforms } from './date.transforms';
import { nameTransforms } from './name.transforms';
import { numberTransforms } from './number.transforms';
import { phoneTransforms } from './phone.transforms';
import { textTransforms } from './text.transforms';
import { noArgs } from './transform.util';
import { zodProblems } from '../zod-issues';
import type { TransformContext, TransformDefinition, TransformFn } from './transform.types';

export const BUILTIN_TRANSFORMS: readonly TransformDefinition<any>[] = [
  ...textTransforms,
  ...numberTransforms,
  ...dateTransforms,
  ...choiceTransforms,
  ...nameTransforms,
  ...countryTransforms,
  ...phoneTransforms,
];

const TRANSFORM_NAME = /^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)?$/;

/** A transform bound to its validated args: what the compiled mapping calls per record. */
export type BoundTransform = (value: unknown, ctx: TransformContext) => unknown;

export type BindResult =
  | { ok: true; run: BoundTransform }
  | { ok: false; problems: { path: (string | number)[]; message: string }[] };

@Injectable()
export class TransformRegistry {
  private readonly defs = new Map<string, TransformDefinition<any>>();

  constructor() {
    for (const d of BUILTIN_TRANSFORMS) this.defs.set(d.name, d);
  }

  /**
   * Adds a named transform. A connector namespaces its own ("salesforce.picklist") so it cannot shadow
   * a built-in or another connector's; redefining a name is refused.
   */
  register<A>(name: string, fn: TransformFn<A>, argsSchema?: z.ZodType<A, any>): this {
    if (!TRANSFORM_NAME.test(name))
      throw new Error(`invalid transform name "${name}" (letters and digits, optionally "vendor.name")`);
    if (this.defs.has(name)) throw new Error(`transform "${name}" is already registered`);
    this.defs.set(name, { name, fn, args: (argsSchema ?? noArgs) as z.ZodType<A, any> });
    return this;
  }

  /** Registers definitions made with defineTransform, e.g. the `transforms` export of connectors/<id>/<id>.transforms.ts. */
  registerAll(defs: readonly TransformDefinition<any>[]): this {
    for (const d of defs) this.register(d.name, d.fn, d.args);
    return this;
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  names(): string[] {
    return [...this.defs.keys()].sort();
  }

  /** Resolves a name and validates its args once; the result runs without further checks. */
  bind(name: string, rawArgs: unknown): BindResult {
    const def = this.defs.get(name);
    if (!def) return { ok: false, problems: [{ path: [], message: `unknown transform "${name}"` }] };
    const parsed = def.args.safeParse(rawArgs);
    if (!parsed.success) {
      return {
        ok: false,
        problems: zodProblems(parsed.error).map((p) => ({
          path: p.path,
          message: `${name}: ${rawArgs === undefined ? 'needs arguments' : p.message}`,
        })),
      };
    }
    const args = parsed.data;
    const fn = def.fn;
    return { ok: true, run: (value, ctx) => fn(value, args, ctx) };
  }
}
