// Person names: split a full name into parts (inbound from vendors with one name field), join parts back.
import { z } from 'zod';
import { defineTransform } from './transform.types';
import { isNullish, scalarText } from './transform.util';

export interface NameParts {
  first: string | null;
  last: string | null;
}

/**
 * "Ada King Lovelace" -> first "Ada", last "King Lovelace" (keeps particles and compound surnames such as
 * "van Beethoven" or "García Márquez" whole); "Lovelace, Ada" -> first "Ada", last "Lovelace".
 * A single word is a first name. Middle names end up in the last name: there is no reliable rule.
 */
export function splitName(full: string): NameParts {
  const text = full.trim().replace(/\s+/g, ' ');
  if (text === '') return { first: null, last: null };
  const comma = text.split(',');
  if (comma.length === 2) {
    const last = comma[0].trim();
    const first = comma[1].trim();
    return { first: first || null, last: last || null };
  }
  const space = text.indexOf(' ');
  if (space === -1) return { first: text, last: null };
  return { first: text.slice(0, space), last: text.slice(space + 1) };
}

const splitArgs = z.union([
  z.enum(['first', 'last']),
  z
    .object({ part: z.enum(['first', 'last']) })
    .strict()
    .transform((a) => a.part),
]);

const joinArgs = z.union([
  z.string().transform((separator) => ({ separator })),
  z.object({ separator: z.string() }).strict(),
]);

export const nameTransforms = [
  defineTransform('splitName', splitArgs, (v, part) => {
    const text = scalarText(v);
    return text === null ? null : splitName(text)[part];
  }),
  /** Joins the non-empty parts of a list (from `from: [a, b]`); all empty gives null. */
  defineTransform('join', joinArgs, (v, { separator }) => {
    if (isNullish(v)) return null;
    if (!Array.isArray(v)) return scalarText(v);
    const parts: string[] = [];
    for (const p of v) {
      const text = scalarText(p);
      if (text !== null) parts.push(text);
    }
    return parts.length ? parts.join(separator) : null;
  }),
];
