// Booleans and enumerations: vendor vocabularies to canonical ones and back.
import { z } from 'zod';
import { defineTransform, TransformError } from './transform.types';
import { noArgs, scalarSchema, scalarText, show, type Scalar } from './transform.util';

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off']);

export function toBoolean(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (v === 1 || v === 0) return v === 1;
    throw new TransformError(`not a boolean: ${show(v)}`);
  }
  const text = scalarText(v);
  if (text === null) return null;
  const t = text.toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  throw new TransformError(`not a boolean: ${show(v)}`);
}

const enumArgs = z
  .object({
    /** Keys are matched against the input as text ("true", "42"); values are the outputs. */
    map: z.record(z.string(), scalarSchema),
    /** Used for empty input and for input not in the map; without it such input is an error (empty gives null). */
    default: scalarSchema.optional(),
    caseInsensitive: z.boolean().optional(),
  })
  .strict()
  .transform((a) => {
    const fold = a.caseInsensitive ? (k: string) => k.toLowerCase() : (k: string) => k;
    const table = new Map<string, Scalar>();
    for (const [k, out] of Object.entries(a.map)) table.set(fold(k.trim()), out);
    return { table, fold, hasDefault: a.default !== undefined, fallback: a.default ?? null };
  });

export const choiceTransforms = [
  defineTransform('boolean', noArgs, (v) => toBoolean(v)),
  defineTransform('enum', enumArgs, (v, a) => {
    const text = scalarText(v);
    if (text === null) return a.fallback;
    const hit = a.table.get(a.fold(text));
    if (hit !== undefined) return hit;
    if (a.hasDefault) return a.fallback;
    throw new TransformError(`${show(v)} is not in the enum map`);
  }),
];
