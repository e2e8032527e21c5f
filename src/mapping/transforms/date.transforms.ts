// Date and time transforms. Output is always UTC: "YYYY-MM-DDTHH:mm:ss.sssZ" or "YYYY-MM-DD".
// Parsing is by hand rather than Date.parse, whose leniency (rolling Feb 30 into March, guessing a zone
// for offset-less text) would silently move a timestamp that merge rules compare.
import { z } from 'zod';
import { defineTransform, TransformError } from './transform.types';
import { isNullish, show } from './transform.util';

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

export interface DateTimeOptions {
  /** Numbers (or digit strings) are epoch milliseconds or seconds; without it they are rejected. */
  epoch?: 'ms' | 's';
  /** Text without an offset is read as UTC; without it such text is rejected as ambiguous. */
  assumeUtc?: boolean;
}

/** Date.UTC, except that years 0-99 stay themselves instead of becoming 1900-1999. */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const t = Date.UTC(y, mo, d, h, mi, s, ms);
  return y < 100 ? new Date(t).setUTCFullYear(y) : t;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return m === 2 && leap ? 29 : MONTH_DAYS[m - 1];
}

/** Epoch milliseconds of an ISO 8601 text, a number/digit string (with `epoch`), or a Date; null if empty. */
export function parseInstant(v: unknown, opts: DateTimeOptions = {}, dateOnlyOk = false): number | null {
  if (isNullish(v)) return null;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new TransformError('invalid date');
    return v.getTime();
  }
  const numeric = typeof v === 'number' || (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v));
  if (numeric) {
    if (!opts.epoch)
      throw new TransformError(`numeric timestamp ${show(v)} needs the epoch option (ms or s)`);
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TransformError(`invalid epoch timestamp ${show(v)}`);
    const ms = Math.round(opts.epoch === 's' ? n * 1000 : n);
    if (Math.abs(ms) > 8.64e15) throw new TransformError(`epoch timestamp out of range: ${show(v)}`);
    return ms;
  }
  if (typeof v !== 'string') throw new TransformError(`expected a date/time, got ${show(v)}`);
  const text = v.trim();
  if (text === '') return null;
  const m = DATE_TIME.exec(text);
  if (!m) throw new TransformError(`not an ISO 8601 date/time: ${show(v)}`);
  const [, ys, mos, ds, hs, mis, ss, fs, zone] = m;
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo))
    throw new TransformError(`no such date: ${show(v)}`);
  if (hs === undefined) {
    if (!dateOnlyOk) throw new TransformError(`a date without a time is not a timestamp: ${show(v)}`);
    return utc(y, mo - 1, d);
  }
  const h = Number(hs);
  const mi = Number(mis);
  const s = ss === undefined ? 0 : Number(ss);
  if (h > 23 || mi > 59 || s > 59) throw new TransformError(`no such time: ${show(v)}`);
  // Fractions beyond milliseconds are truncated (microsecond precision from some APIs).
  const ms = fs === undefined ? 0 : Number(fs.slice(0, 3).padEnd(3, '0'));
  let offsetMin = 0;
  if (zone === undefined) {
    if (!opts.assumeUtc) throw new TransformError(`timestamp without a UTC offset is ambiguous: ${show(v)}`);
  } else if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) throw new TransformError(`invalid UTC offset in ${show(v)}`);
    offsetMin = sign * (oh * 60 + om);
  }
  return utc(y, mo - 1, d, h, mi, s, ms) - offsetMin * 60_000;
}

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function toIsoDateTime(v: unknown, opts: DateTimeOptions = {}): string | null {
  const ms = parseInstant(v, opts);
  if (ms === null) return null;
  // Already canonical and valid (parseInstant checked the calendar): no need to re-format.
  if (typeof v === 'string' && CANONICAL.test(v)) return v;
  return safeIso(ms, v);
}

export function toIsoDate(v: unknown, opts: DateTimeOptions = {}): string | null {
  const ms = parseInstant(v, opts, true);
  return ms === null ? null : safeIso(ms, v).slice(0, 10);
}

function safeIso(ms: number, input: unknown): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new TransformError(`date out of range: ${show(input)}`);
  return d.toISOString();
}

const dateArgs = z
  .object({ epoch: z.enum(['ms', 's']).optional(), assumeUtc: z.boolean().optional() })
  .strict()
  .optional();

export const dateTransforms = [
  defineTransform('isoDateTime', dateArgs, (v, args) => toIsoDateTime(v, args)),
  defineTransform('isoDate', dateArgs, (v, args) => toIsoDate(v, args)),
];
