// Text transforms: trim, case changes, empties and constants.
import { defineTransform } from './transform.types';
import { isBlank, noArgs, scalarSchema, stringOp } from './transform.util';

const trimOp = stringOp((s) => s.trim());
const lowerOp = stringOp((s) => s.toLowerCase());
const upperOp = stringOp((s) => s.toUpperCase());

// A word starts at the beginning or after whitespace, a hyphen or an apostrophe ("O'Neil", "Jean-Luc").
const WORD_START = /(^|[\s\-'’])(\p{L})/gu;

/**
 * Title-cases only text that is all one case: "ADA LOVELACE" and "ada lovelace" become "Ada Lovelace",
 * but mixed-case input ("McDonald", "van der Berg") is already deliberate and is left alone.
 */
export function titleCase(s: string): string {
  const lower = s.toLowerCase();
  if (lower !== s && s.toUpperCase() !== s) return s; // mixed case
  return lower.replace(WORD_START, (_m, sep: string, letter: string) => sep + letter.toUpperCase());
}
const titleOp = stringOp(titleCase);

export const textTransforms = [
  defineTransform('trim', noArgs, (v) => trimOp(v)),
  defineTransform('lowercase', noArgs, (v) => lowerOp(v)),
  defineTransform('uppercase', noArgs, (v) => upperOp(v)),
  defineTransform('titleCase', noArgs, (v) => titleOp(v)),
  /** "" or whitespace (or a list of only empties) becomes null. */
  defineTransform('emptyToNull', noArgs, (v) => (isBlank(v) ? null : v)),
  /** Replaces an empty value (null, "", whitespace) with the given scalar. */
  defineTransform('defaultIfEmpty', scalarSchema, (v, fallback) => (isBlank(v) ? fallback : v)),
  /** Ignores the input. Usually written without `from`. */
  defineTransform('constant', scalarSchema, (_v, value) => value),
];
