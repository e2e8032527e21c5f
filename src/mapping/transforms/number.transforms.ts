// Numeric transforms. `decimal` is exact: it works on the digits as text and never goes through a float,
// because money must survive a round trip to the cent (0.1 + 0.2 problems, 17-digit totals).
import { z } from 'zod';
import { defineTransform, TransformError } from './transform.types';
import { isNullish, noArgs, scalarText, show } from './transform.util';

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TransformError(`not a finite number: ${show(v)}`);
    return v;
  }
  if (typeof v === 'boolean') throw new TransformError(`expected a number, got ${show(v)}`);
  const text = scalarText(v);
  if (text === null) return null;
  if (!NUMBER_TEXT.test(text)) throw new TransformError(`not a number: ${show(v)}`);
  const n = Number(text);
  if (!Number.isFinite(n)) throw new TransformError(`number out of range: ${show(v)}`);
  return n;
}

function toInteger(v: unknown): number | null {
  const n = toNumber(v);
  if (n === null) return null;
  if (!Number.isInteger(n)) throw new TransformError(`not an integer: ${show(v)}`);
  if (!Number.isSafeInteger(n)) throw new TransformError(`integer too large to be exact: ${show(v)}`);
  return n;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Canonical exact decimal text: "-?digits(.digits)?", no leading zeros, no trailing fractional zeros
 * ("1234.50" -> "1234.5", "-0.00" -> "0"), so equal amounts compare equal as strings.
 */
export function toDecimal(v: unknown, thousandsSeparator?: string): string | null {
  if (isNullish(v)) return null;
  if (typeof v === 'number' && !Number.isFinite(v))
    throw new TransformError(`not a finite number: ${show(v)}`);
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new TransformError(`expected a decimal, got ${show(v)}`);
  let text = String(v).trim();
  if (text === '') return null;
  if (thousandsSeparator && typeof v === 'string') {
    // Only well-placed group separators ("1,234,567.5"), so "1,23" is still rejected.
    const grouped = new RegExp(`^[+-]?\\d{1,3}(${escapeRegExp(thousandsSeparator)}\\d{3})+(\\.\\d*)?$`);
    if (grouped.test(text)) text = text.split(thousandsSeparator).join('');
  }
  const m = DECIMAL_TEXT.exec(text);
  // Exponents are accepted only from JS numbers (String(1e21) === "1e+21"); text must be plain digits.
  if (!m || (m[2] === '' && !m[3]) || (m[4] !== undefined && typeof v !== 'number')) {
    throw new TransformError(`not an exact decimal: ${show(v)}`);
  }
  const sign = m[1] === '-' ? '-' : '';
  let intPart = m[2];
  let frac = m[3] ?? '';
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (exp > 0) {
    frac = frac.padEnd(exp, '0');
    intPart += frac.slice(0, exp);
    frac = frac.slice(exp);
  } else if (exp < 0) {
    intPart = intPart.padStart(-exp + 1, '0');
    frac = intPart.slice(intPart.length + exp) + frac;
    intPart = intPart.slice(0, intPart.length + exp);
  }
  intPart = intPart.replace(/^0+(?=\d)/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const body = frac ? `${intPart}.${frac}` : intPart;
  return body === '0' ? '0' : sign + body;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const decimalArgs = z
  .object({ thousandsSeparator: z.enum([',', "'", ' ']).optional() })
  .strict()
  .optional();

export const numberTransforms = [
  defineTransform('number', noArgs, (v) => toNumber(v)),
  defineTransform('integer', noArgs, (v) => toInteger(v)),
  defineTransform('decimal', decimalArgs, (v, args) => toDecimal(v, args?.thousandsSeparator)),
];
