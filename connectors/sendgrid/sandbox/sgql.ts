// The SGQL subset the SendGrid sandbox's search understands. Parses a query string into a predicate over
// contacts, plus a key range on (updated_at, contact_id) the store can seek to; owns no state, never touches the store.

export interface SgqlContact {
  get(field: string): unknown; // string | number (epoch ms for timestamps) | string[] | undefined
}

export type Predicate = (c: SgqlContact) => boolean;

export class SgqlError extends Error {}

/**
 * A point in the (updated_at, contact_id) order. `id` -1 / 1 stand for "before / after every id at time t", so
 * `updated_at > X` is "after (X, 1)" and `updated_at >= X` is "after (X, -1)".
 */
export interface KeyPoint {
  t: number;
  id: string | -1 | 1;
}
export interface KeyBound {
  p: KeyPoint;
  incl: boolean;
}
/** Matches lie in [lo, hi] (bounds open unless `incl`); a missing side is unbounded. */
export interface KeyRange {
  lo?: KeyBound;
  hi?: KeyBound;
}

export interface SgqlPlan {
  predicate: Predicate;
  /** Every match lies in this range (undefined: no such range was found, scan everything). */
  range?: KeyRange;
  /** The predicate is exactly "key within range": the count is a difference of positions, no scan needed. */
  exact: boolean;
}

type IdCmp = { op: string; v: string };
interface Node {
  pred: Predicate;
  range?: KeyRange;
  exact: boolean;
  /** A bare `contact_id <op> 'x'`: no range alone, but narrows a sibling `updated_at = X` inside an AND. */
  idCmp?: IdCmp;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePoints(a: KeyPoint, b: KeyPoint): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.id === b.id) return 0;
  if (a.id === -1 || b.id === 1) return -1;
  if (a.id === 1 || b.id === -1) return 1;
  return cmpStr(a.id, b.id);
}

/** The tighter of two lower (dir 1) or upper (dir -1) bounds; at the same point an open bound is tighter. */
function tighter(a: KeyBound | undefined, b: KeyBound | undefined, dir: 1 | -1): KeyBound | undefined {
  if (!a) return b;
  if (!b) return a;
  const c = comparePoints(a.p, b.p) * dir;
  if (c !== 0) return c > 0 ? a : b;
  return a.incl ? b : a;
}

/** The looser of two bounds (for OR); `undefined` (unbounded) wins. */
function looser(a: KeyBound | undefined, b: KeyBound | undefined, dir: 1 | -1): KeyBound | undefined {
  if (!a || !b) return undefined;
  const c = comparePoints(a.p, b.p) * dir;
  if (c !== 0) return c < 0 ? a : b;
  return a.incl ? a : b;
}

function andRange(parts: Node[]): { range?: KeyRange; exact: boolean } {
  let range: KeyRange | undefined;
  for (const n of parts)
    if (n.range) range = { lo: tighter(range?.lo, n.range.lo, 1), hi: tighter(range?.hi, n.range.hi, -1) };
  if (!range) return { exact: false };
  let exact = parts.every((n) => n.exact || n.idCmp);
  // With updated_at pinned to one instant, contact_id comparisons become bounds too (the keyset tie-breaker).
  const pinned = range.lo && range.hi && range.lo.p.t === range.hi.p.t ? range.lo.p.t : undefined;
  for (const n of parts) {
    if (!n.idCmp) continue;
    if (pinned === undefined) {
      exact = false;
      continue;
    }
    const b = { p: { t: pinned, id: n.idCmp.v }, incl: n.idCmp.op !== '>' && n.idCmp.op !== '<' };
    if (n.idCmp.op !== '<' && n.idCmp.op !== '<=') range.lo = tighter(range.lo, b, 1);
    if (n.idCmp.op !== '>' && n.idCmp.op !== '>=') range.hi = tighter(range.hi, b, -1);
  }
  return { range, exact };
}

function orRange(parts: Node[]): { range?: KeyRange; exact: boolean } {
  if (!parts.every((n) => n.range)) return { exact: false };
  const ranges = parts.map((n) => n.range!);
  const range = ranges.reduce((a, b) => ({ lo: looser(a.lo, b.lo, 1), hi: looser(a.hi, b.hi, -1) }));
  if (!parts.every((n) => n.exact)) return { range, exact: false };
  // The union equals the hull only when the ranges leave no gap that a real key could fall into.
  const sorted = [...ranges].sort((a, b) => (!a.lo ? -1 : !b.lo ? 1 : comparePoints(a.lo.p, b.lo.p)));
  let reach = sorted[0].hi;
  for (const r of sorted.slice(1)) {
    if (reach && r.lo) {
      const c = comparePoints(r.lo.p, reach.p);
      const realPoint = typeof r.lo.p.id === 'string';
      if (c > 0 || (c === 0 && realPoint && !r.lo.incl && !reach.incl)) return { range, exact: false };
    }
    reach = looser(reach, r.hi, -1);
  }
  return { range, exact: true };
}

type Tok = { kind: 'word' | 'str' | 'num' | 'op' | 'punct'; text: string };

const TIMESTAMP_FIELDS = new Set(['created_at', 'updated_at']);

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const ch = q[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'" || ch === '"') {
      // SQL style: a doubled quote inside the literal stands for one quote.
      let s = '';
      i++;
      for (;;) {
        if (i >= q.length) throw new SgqlError('unterminated string literal');
        if (q[i] === ch && q[i + 1] === ch) {
          s += ch;
          i += 2;
        } else if (q[i] === ch) {
          i++;
          break;
        } else s += q[i++];
      }
      out.push({ kind: 'str', text: s });
    } else if ('(),'.includes(ch)) {
      out.push({ kind: 'punct', text: ch });
      i++;
    } else if ('=!<>'.includes(ch)) {
      const two = q.slice(i, i + 2);
      if (['!=', '<>', '<=', '>='].includes(two)) {
        out.push({ kind: 'op', text: two === '<>' ? '!=' : two });
        i += 2;
      } else if (ch === '!') throw new SgqlError(`unexpected '!' at ${i}`);
      else {
        out.push({ kind: 'op', text: ch });
        i++;
      }
    } else if ((/[0-9-]/.test(ch) && /[0-9.]/.test(q[i + 1] ?? '')) || /[0-9]/.test(ch)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(q.slice(i));
      if (!m) throw new SgqlError(`bad number at ${i}`);
      out.push({ kind: 'num', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(q.slice(i))!;
      out.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else throw new SgqlError(`unexpected character '${ch}' at ${i}`);
  }
  return out;
}

type Value = string | number;

/** Compiles `query` into a predicate; `isField` says which names exist (reserved and custom field names). */
export function compileSgql(query: string, isField: (name: string) => boolean): Predicate {
  return planSgql(query, isField).predicate;
}

/** Compiles `query` into a predicate and the (updated_at, contact_id) range its matches lie in. */
export function planSgql(query: string, isField: (name: string) => boolean): SgqlPlan {
  const toks = tokenize(query);
  let pos = 0;
  const peek = (): Tok | undefined => toks[pos];
  const isWord = (w: string): boolean => peek()?.kind === 'word' && peek()!.text.toUpperCase() === w;
  const expectPunct = (p: string): void => {
    const t = toks[pos++];
    if (!t || t.kind !== 'punct' || t.text !== p) throw new SgqlError(`expected '${p}'`);
  };

  const fieldRef = (): { name: string; lower: boolean } => {
    const t = toks[pos++];
    if (!t || t.kind !== 'word') throw new SgqlError('expected a field name');
    if (t.text.toLowerCase() === 'lower' && peek()?.text === '(') {
      expectPunct('(');
      const inner = fieldRef();
      expectPunct(')');
      return { name: inner.name, lower: true };
    }
    if (!isField(t.text)) throw new SgqlError(`unknown field '${t.text}'`);
    return { name: t.text, lower: false };
  };

  const literal = (field: string): Value => {
    const t = toks[pos++];
    if (!t) throw new SgqlError('expected a value');
    if (t.kind === 'word' && t.text.toUpperCase() === 'TIMESTAMP') {
      const s = toks[pos++];
      if (!s || s.kind !== 'str') throw new SgqlError('TIMESTAMP needs a quoted ISO 8601 value');
      const ms = Date.parse(s.text);
      if (Number.isNaN(ms)) throw new SgqlError(`invalid TIMESTAMP '${s.text}'`);
      return ms;
    }
    if (t.kind === 'str') {
      if (TIMESTAMP_FIELDS.has(field)) {
        const ms = Date.parse(t.text);
        if (Number.isNaN(ms)) throw new SgqlError(`invalid timestamp '${t.text}'`);
        return ms;
      }
      return t.text;
    }
    if (t.kind === 'num') return Number(t.text);
    throw new SgqlError(`unexpected '${t.text}'`);
  };

  const read = (c: SgqlContact, f: { name: string; lower: boolean }): unknown => {
    const v = c.get(f.name);
    return f.lower && typeof v === 'string' ? v.toLowerCase() : v;
  };

  const compare = (a: unknown, op: string, b: Value): boolean => {
    if (a === undefined || a === null || a === '') return op === '!=' ? true : false;
    const x = typeof b === 'number' && typeof a === 'string' ? Number(a) : a;
    switch (op) {
      case '=':
        return x === b;
      case '!=':
        return x !== b;
      case '<':
        return (x as Value) < b;
      case '<=':
        return (x as Value) <= b;
      case '>':
        return (x as Value) > b;
      case '>=':
        return (x as Value) >= b;
    }
    return false;
  };

  const likeRegex = (pattern: string): RegExp =>
    new RegExp(
      '^' +
        pattern
          .split('')
          .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
          .join('') +
        '$',
      's',
    );

  /** Range of a plain comparison on updated_at, or the contact_id comparison an AND may turn into one. */
  const comparisonNode = (
    f: { name: string; lower: boolean },
    op: string,
    v: Value,
    pred: Predicate,
  ): Node => {
    if (f.lower) return { pred, exact: false };
    if (f.name === 'contact_id' && typeof v === 'string' && op !== '!=')
      return { pred, exact: false, idCmp: { op, v } };
    if (f.name !== 'updated_at' || typeof v !== 'number') return { pred, exact: false };
    const before: KeyBound = { p: { t: v, id: -1 }, incl: false };
    const after: KeyBound = { p: { t: v, id: 1 }, incl: false };
    switch (op) {
      case '>':
        return { pred, exact: true, range: { lo: after } };
      case '>=':
        return { pred, exact: true, range: { lo: before } };
      case '<':
        return { pred, exact: true, range: { hi: before } };
      case '<=':
        return { pred, exact: true, range: { hi: after } };
      case '=':
        return { pred, exact: true, range: { lo: before, hi: after } };
    }
    return { pred, exact: false };
  };

  const predicate = (): Node => {
    if (isWord('CONTAINS')) {
      pos++;
      expectPunct('(');
      const f = fieldRef();
      expectPunct(',');
      const v = literal(f.name);
      expectPunct(')');
      return {
        exact: false,
        pred: (c) => {
          const arr = c.get(f.name);
          return Array.isArray(arr) ? arr.includes(v) : false;
        },
      };
    }
    const f = fieldRef();
    const negate = isWord('NOT') ? (pos++, true) : false;
    if (isWord('IN')) {
      pos++;
      expectPunct('(');
      const set = new Set<Value>([literal(f.name)]);
      while (peek()?.text === ',') {
        pos++;
        set.add(literal(f.name));
      }
      expectPunct(')');
      return {
        exact: false,
        pred: (c) => {
          const v = read(c, f);
          const hit = v !== undefined && set.has(v as Value);
          return negate ? !hit : hit;
        },
      };
    }
    if (isWord('LIKE')) {
      pos++;
      const p = literal(f.name);
      if (typeof p !== 'string') throw new SgqlError('LIKE needs a string pattern');
      const re = likeRegex(p);
      return {
        exact: false,
        pred: (c) => {
          const v = read(c, f);
          const hit = typeof v === 'string' && re.test(v);
          return negate ? !hit : hit;
        },
      };
    }
    if (isWord('IS')) {
      pos++;
      const not = isWord('NOT') ? (pos++, true) : false;
      if (!isWord('NULL')) throw new SgqlError('expected NULL');
      pos++;
      return {
        exact: false,
        pred: (c) => {
          const v = read(c, f);
          const isNull = v === undefined || v === '';
          return not ? !isNull : isNull;
        },
      };
    }
    if (negate) throw new SgqlError('NOT must be followed by IN or LIKE here');
    const op = toks[pos++];
    if (!op || op.kind !== 'op') throw new SgqlError(`expected an operator after '${f.name}'`);
    const v = literal(f.name);
    return comparisonNode(f, op.text, v, (c) => compare(read(c, f), op.text, v));
  };

  const unary = (): Node => {
    if (isWord('NOT')) {
      pos++;
      const p = unary().pred;
      return { exact: false, pred: (c) => !p(c) };
    }
    if (peek()?.text === '(' && peek()?.kind === 'punct') {
      pos++;
      const n = orExpr();
      expectPunct(')');
      return n;
    }
    return predicate();
  };

  const andExpr = (): Node => {
    const parts = [unary()];
    while (isWord('AND')) {
      pos++;
      parts.push(unary());
    }
    if (parts.length === 1) return parts[0];
    const preds = parts.map((n) => n.pred);
    return { ...andRange(parts), pred: (c) => preds.every((p) => p(c)) };
  };

  const orExpr = (): Node => {
    const parts = [andExpr()];
    while (isWord('OR')) {
      pos++;
      parts.push(andExpr());
    }
    if (parts.length === 1) return parts[0];
    const preds = parts.map((n) => n.pred);
    return { ...orRange(parts), pred: (c) => preds.some((p) => p(c)) };
  };

  if (toks.length === 0) throw new SgqlError('empty query');
  const root = orExpr();
  if (pos !== toks.length) throw new SgqlError(`unexpected '${toks[pos].text}'`);
  return { predicate: root.pred, range: root.range, exact: root.exact };
}
