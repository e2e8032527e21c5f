// Small helpers shared by the built-in transforms.
import { z } from 'zod';
import { TransformError } from './transform.types';

/** Args schema for transforms that take none (written bare: `- trim`). */
export const noArgs = z.undefined({ error: 'takes no arguments' });

export const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof scalarSchema>;

export function isNullish(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

export function isBlank(v: unknown): boolean {
  return isNullish(v) || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.every(isBlank));
}

/** Short, safe rendering of a bad value for an error message. */
export function show(v: unknown): string {
  const s =
    typeof v === 'string'
      ? JSON.stringify(v)
      : Array.isArray(v)
        ? 'a list'
        : typeof v === 'object'
          ? 'an object'
          : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}..."` : s;
}

/** Lifts a string operation: null passes through, lists map element-wise, numbers/booleans become text. */
export function stringOp(op: (s: string) => unknown): (v: unknown) => unknown {
  const apply = (v: unknown): unknown => {
    if (isNullish(v)) return null;
    if (typeof v === 'string') return op(v);
    if (typeof v === 'number' || typeof v === 'boolean') return op(String(v));
    if (Array.isArray(v)) return v.map(apply);
    throw new TransformError(`expected text, got ${show(v)}`);
  };
  return apply;
}

/** Text of a scalar input (trimmed), or null when empty; rejects lists and objects. */
export function scalarText(v: unknown): string | null {
  if (isNullish(v)) return null;
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TransformError(`expected a single value, got ${show(v)}`);
}
