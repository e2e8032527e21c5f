// Keeps the number of distinct SQL texts small, for SQLite's prepared-statement cache. better-sqlite3 prepares
// every distinct text once and the driver keeps it (statementCacheSize); a statement holds its compiled program in
// native memory, about 90 bytes per parameter, out of V8's sight. Statements built for "as many rows as this page
// has" gave every row count its own text: a 100,000-contact sync prepared hundreds of them, up to 7,000 parameters
// each (~600 KB apiece), which held ~100 MB of the process's RSS and spent CPU re-preparing what one cached
// statement per size class would do. So row counts are rounded to powers of two: `IN` lists are padded by
// repeating their last value (membership is unchanged), and multi-row statements are cut into power-of-two pieces.

/** The smallest power of two at or above n (n ≥ 1). */
export function pow2Ceil(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The largest power of two at or below n (n ≥ 1). */
export function pow2Floor(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/**
 * Cuts `n` items into consecutive pieces whose sizes are powers of two no larger than `max` (itself rounded down to
 * a power of two): full pieces first, then the remainder's binary digits, largest first. 1,000 with max 256 gives
 * 256, 256, 256, 128, 64, 32, 8.
 */
export function pow2Pieces(n: number, max: number): { start: number; size: number }[] {
  const top = pow2Floor(Math.max(1, max));
  const out: { start: number; size: number }[] = [];
  let start = 0;
  while (n - start >= top) {
    out.push({ start, size: top });
    start += top;
  }
  for (let size = top / 2; size >= 1; size /= 2) {
    if (n - start >= size) {
      out.push({ start, size });
      start += size;
    }
  }
  return out;
}

/** Index of the parenthesis closing the one opened just before `from`, or -1. */
function closingParen(sql: string, from: number): number {
  let depth = 1;
  for (let i = from; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Top-level comma-separated parts of `text` (commas inside parentheses do not split). */
function topLevelParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let begin = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(begin, i).trim());
      begin = i + 1;
    }
  }
  parts.push(text.slice(begin).trim());
  return parts;
}

const countMarks = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 63 /* ? */) n++;
  return n;
};

/** SQLite's limit on parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER as better-sqlite3 builds it). */
export const SQLITE_MAX_PARAMS = 32_766;

const IN_OPEN = /\bIN\s*\(/gi;
const PLAIN_LIST = /^\?(\s*,\s*\?)*$/;
const VALUES_HEAD = /^VALUES\s+/i;

/**
 * Pads every `IN (?, …)` list, and every `IN (VALUES (…), …)` list of identical tuples, to a power-of-two length by
 * repeating its last value (or tuple), so a statement has a handful of texts instead of one per list length.
 * Membership tests ignore repeats, so results are unchanged. Other `IN (…)` forms (a subquery, literals) are left
 * as they are. As everywhere in this codebase, `?` appears in SQL text only as a placeholder.
 */
export function padInLists(sql: string, params: unknown[]): { sql: string; params: unknown[] } {
  let out = '';
  const outParams: unknown[] = [];
  let copied = 0; // sql[0, copied) is in `out`
  let used = 0; // params consumed into outParams
  let changed = false;
  let added = 0; // parameters added by padding so far
  IN_OPEN.lastIndex = 0;
  for (let m = IN_OPEN.exec(sql); m; m = IN_OPEN.exec(sql)) {
    const open = m.index + m[0].length;
    const close = closingParen(sql, open);
    if (close < 0) break;
    const inner = sql.slice(open, close).trim();
    let items: string[] | null = null;
    let prefix = '';
    if (PLAIN_LIST.test(inner)) items = inner.split(',').map(() => '?');
    else if (VALUES_HEAD.test(inner)) {
      const head = VALUES_HEAD.exec(inner)![0];
      const tuples = topLevelParts(inner.slice(head.length));
      if (tuples.length && tuples.every((t) => t === tuples[0] && t.startsWith('('))) {
        items = tuples;
        prefix = 'VALUES ';
      }
    }
    if (!items) continue;
    const target = pow2Ceil(items.length);
    if (target === items.length) continue;
    const perItem = countMarks(items[0]);
    // Padding can almost double a list: never past what SQLite prepares (an unchunked list of 20,000 ran before).
    if (params.length + added + (target - items.length) * perItem > SQLITE_MAX_PARAMS) continue;
    // Placeholders before the list, then the list's own: copy them, then the repeats of its last item's values.
    const before = countMarks(sql.slice(copied, open));
    const listParams = items.length * perItem;
    for (let i = 0; i < before + listParams; i++) outParams.push(params[used + i]);
    used += before + listParams;
    const last = outParams.slice(outParams.length - perItem);
    for (let r = items.length; r < target; r++) outParams.push(...last);
    added += (target - items.length) * perItem;
    out += `${sql.slice(copied, open)}${prefix}${Array.from({ length: target }, () => items![0]).join(',')}`;
    copied = close;
    IN_OPEN.lastIndex = close;
    changed = true;
  }
  if (!changed) return { sql, params };
  out += sql.slice(copied);
  for (let i = used; i < params.length; i++) outParams.push(params[i]);
  return { sql: out, params: outParams };
}

/** PostgreSQL's numbered placeholders for the `?` ones every statement here is written with. */
export function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}
