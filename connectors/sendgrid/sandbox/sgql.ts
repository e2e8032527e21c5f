// The SGQL subset the SendGrid sandbox's search understands. Parses a query string into a predicate over
// contacts; owns no state and never touches the store.

export interface SgqlContact {
  get(field: string): unknown; // string | number (epoch ms for timestamps) | string[] | undefined
}

export type Predicate = (c: SgqlContact) => boolean;

export class SgqlError extends Error {}

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
    } else if (/[0-9-]/.test(ch) && /[0-9.]/.test(q[i + 1] ?? '') || /[0-9]/.test(ch)) {
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

  const predicate = (): Predicate => {
    if (isWord('CONTAINS')) {
      pos++;
      expectPunct('(');
      const f = fieldRef();
      expectPunct(',');
      const v = literal(f.name);
      expectPunct(')');
      return (c) => {
        const arr = c.get(f.name);
        return Array.isArray(arr) ? arr.includes(v) : false;
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
      return (c) => {
        const v = read(c, f);
        const hit = v !== undefined && set.has(v as Value);
        return negate ? !hit : hit;
      };
    }
    if (isWord('LIKE')) {
      pos++;
      const p = literal(f.name);
      if (typeof p !== 'string') throw new SgqlError('LIKE needs a string pattern');
      const re = likeRegex(p);
      return (c) => {
        const v = read(c, f);
        const hit = typeof v === 'string' && re.test(v);
        return negate ? !hit : hit;
      };
    }
    if (isWord('IS')) {
      pos++;
      const not = isWord('NOT') ? (pos++, true) : false;
      if (!isWord('NULL')) throw new SgqlError('expected NULL');
      pos++;
      return (c) => {
        const v = read(c, f);
        const isNull = v === undefined || v === '';
        return not ? !isNull : isNull;
      };
    }
    if (negate) throw new SgqlError('NOT must be followed by IN or LIKE here');
    const op = toks[pos++];
    if (!op || op.kind !== 'op') throw new SgqlError(`expected an operator after '${f.name}'`);
    const v = literal(f.name);
    return (c) => compare(read(c, f), op.text, v);
  };

  const unary = (): Predicate => {
    if (isWord('NOT')) {
      pos++;
      const p = unary();
      return (c) => !p(c);
    }
    if (peek()?.text === '(' && peek()?.kind === 'punct') {
      pos++;
      const p = orExpr();
      expectPunct(')');
      return p;
    }
    return predicate();
  };

  const andExpr = (): Predicate => {
    const parts = [unary()];
    while (isWord('AND')) {
      pos++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0] : (c) => parts.every((p) => p(c));
  };

  const orExpr = (): Predicate => {
    const parts = [andExpr()];
    while (isWord('OR')) {
      pos++;
      parts.push(andExpr());
    }
    return parts.length === 1 ? parts[0] : (c) => parts.some((p) => p(c));
  };

  if (toks.length === 0) throw new SgqlError('empty query');
  const p = orExpr();
  if (pos !== toks.length) throw new SgqlError(`unexpected '${toks[pos].text}'`);
  return p;
}
