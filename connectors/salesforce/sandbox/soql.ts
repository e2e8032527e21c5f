/**
 * The SOQL subset our connector sends: SELECT fields | COUNT() FROM Contact|Lead [WHERE ...] [ORDER BY ...]
 * [LIMIT n] [OFFSET n], with comparisons, IN, LIKE, AND/OR/NOT and parentheses. Parsing is separate from
 * compiling against a schema, so syntax errors are MALFORMED_QUERY and unknown names INVALID_FIELD/INVALID_TYPE,
 * as Salesforce reports them.
 */
import { SfApiError, malformedQuery } from './salesforce-errors';
import { parseSfDate, parseSfDateTime } from './salesforce-clock';
import { FieldDef, ObjectSchema, Row, SLOT_ID, SLOT_MODSTAMP, Value, schemaFor } from './salesforce-schema';
import { normalizeId } from './salesforce-ids';

type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number; text: string }
  | { kind: 'date'; value: number; text: string };

export type Condition =
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  | { kind: 'cmp'; field: string; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: Literal }
  | { kind: 'in'; field: string; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: string; pattern: string };

export interface OrderItem {
  field: string;
  desc: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  count: boolean;
  fields: string[];
  from: string;
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

type Token = { t: 'word' | 'string' | 'op' | 'punct' | 'literal'; v: string; pos: number };

const KEYWORDS = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'ORDER',
  'BY',
  'ASC',
  'DESC',
  'LIMIT',
  'OFFSET',
  'IN',
  'LIKE',
  'NULLS',
  'FIRST',
  'LAST',
]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      const start = i++;
      let v = '';
      for (;;) {
        if (i >= text.length)
          throw malformedQuery(`\n${text}\nERROR at Row:1:Column:${start + 1}\nunexpected token: <EOF>`);
        const ch = text[i];
        if (ch === '\\') {
          const next = text[i + 1];
          v += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next;
          i += 2;
        } else if (ch === "'") {
          i++;
          break;
        } else {
          v += ch;
          i++;
        }
      }
      tokens.push({ t: 'string', v, pos: start });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_.]/.test(text[i])) i++;
      // LAST_N_DAYS:n style literals are not in our subset; the colon is left to fail as a token
      tokens.push({ t: 'word', v: text.slice(start, i), pos: start });
    } else if (/[0-9-]/.test(c)) {
      const start = i;
      i++;
      // datetime literals carry ':', '.', '+', '-' and letters T/Z; numbers are a subset of that alphabet
      while (i < text.length && /[0-9A-Za-z:.+-]/.test(text[i])) i++;
      tokens.push({ t: 'literal', v: text.slice(start, i), pos: start });
    } else if (c === '!' || c === '<' || c === '>' || c === '=') {
      const two = text.slice(i, i + 2);
      const op = ['!=', '<=', '>=', '<>'].includes(two) ? two : c;
      if (op === '!')
        throw malformedQuery(`\n${text}\nERROR at Row:1:Column:${i + 1}\nunexpected token: '!'`);
      tokens.push({ t: 'op', v: op === '<>' ? '!=' : op, pos: i });
      i += op.length;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: 'punct', v: c, pos: i++ });
    } else {
      throw malformedQuery(`\n${text}\nERROR at Row:1:Column:${i + 1}\nunexpected token: '${c}'`);
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private fail(tok = this.peek()): never {
    const col = tok ? tok.pos + 1 : this.text.length + 1;
    throw malformedQuery(
      `\n${this.text}\nERROR at Row:1:Column:${col}\nunexpected token: ${tok ? `'${tok.v}'` : '<EOF>'}`,
    );
  }

  private isKw(kw: string, tok = this.peek()): boolean {
    return tok?.t === 'word' && tok.v.toUpperCase() === kw;
  }

  private expectKw(kw: string): void {
    if (!this.isKw(kw)) this.fail();
    this.i++;
  }

  private expectPunct(p: string): void {
    const tok = this.peek();
    if (tok?.t !== 'punct' || tok.v !== p) this.fail();
    this.i++;
  }

  private fieldName(): string {
    const tok = this.peek();
    if (tok?.t !== 'word' || KEYWORDS.has(tok.v.toUpperCase())) this.fail();
    this.i++;
    return tok.v;
  }

  parse(): SoqlQuery {
    this.expectKw('SELECT');
    let count = false;
    const fields: string[] = [];
    if (this.isKw('COUNT') && this.tokens[this.i + 1]?.v === '(') {
      this.i += 2;
      this.expectPunct(')');
      count = true;
    } else {
      fields.push(this.fieldName());
      while (this.peek()?.v === ',') {
        this.i++;
        fields.push(this.fieldName());
      }
    }
    this.expectKw('FROM');
    const from = this.fieldName();
    const query: SoqlQuery = { count, fields, from, orderBy: [] };
    if (this.isKw('WHERE')) {
      this.i++;
      query.where = this.orExpr();
    }
    if (this.isKw('ORDER')) {
      this.i++;
      this.expectKw('BY');
      do {
        if (query.orderBy.length) this.i++;
        const field = this.fieldName();
        let desc = false;
        if (this.isKw('ASC')) this.i++;
        else if (this.isKw('DESC')) {
          this.i++;
          desc = true;
        }
        let nullsLast = desc;
        if (this.isKw('NULLS')) {
          this.i++;
          if (this.isKw('FIRST')) nullsLast = false;
          else if (this.isKw('LAST')) nullsLast = true;
          else this.fail();
          this.i++;
        }
        query.orderBy.push({ field, desc, nullsLast });
      } while (this.peek()?.v === ',');
    }
    if (this.isKw('LIMIT')) {
      this.i++;
      query.limit = this.nonNegativeInt();
    }
    if (this.isKw('OFFSET')) {
      this.i++;
      query.offset = this.nonNegativeInt();
    }
    if (this.peek()) this.fail();
    return query;
  }

  private nonNegativeInt(): number {
    const tok = this.peek();
    if (tok?.t !== 'literal' || !/^\d+$/.test(tok.v)) this.fail();
    this.i++;
    return Number(tok.v);
  }

  private orExpr(): Condition {
    const items = [this.andExpr()];
    while (this.isKw('OR')) {
      this.i++;
      items.push(this.andExpr());
    }
    return items.length === 1 ? items[0] : { kind: 'or', items };
  }

  private andExpr(): Condition {
    const items = [this.unary()];
    while (this.isKw('AND')) {
      this.i++;
      items.push(this.unary());
    }
    return items.length === 1 ? items[0] : { kind: 'and', items };
  }

  private unary(): Condition {
    if (this.isKw('NOT')) {
      this.i++;
      return { kind: 'not', item: this.unary() };
    }
    if (this.peek()?.v === '(') {
      this.i++;
      const inner = this.orExpr();
      this.expectPunct(')');
      return inner;
    }
    const field = this.fieldName();
    const tok = this.peek();
    if (tok?.t === 'op') {
      this.i++;
      return { kind: 'cmp', field, op: tok.v as '=', value: this.literal() };
    }
    let negated = false;
    if (this.isKw('NOT')) {
      this.i++;
      negated = true;
      if (!this.isKw('IN')) this.fail();
    }
    if (this.isKw('IN')) {
      this.i++;
      this.expectPunct('(');
      const values = [this.literal()];
      while (this.peek()?.v === ',') {
        this.i++;
        values.push(this.literal());
      }
      this.expectPunct(')');
      return { kind: 'in', field, negated, values };
    }
    if (this.isKw('LIKE')) {
      this.i++;
      const pat = this.peek();
      if (pat?.t !== 'string') this.fail();
      this.i++;
      return { kind: 'like', field, pattern: pat.v };
    }
    return this.fail();
  }

  private literal(): Literal {
    const tok = this.peek();
    if (!tok) this.fail();
    this.i++;
    if (tok.t === 'string') return { kind: 'string', value: tok.v };
    if (tok.t === 'word') {
      const up = tok.v.toUpperCase();
      if (up === 'TRUE' || up === 'FALSE') return { kind: 'boolean', value: up === 'TRUE' };
      if (up === 'NULL') return { kind: 'null' };
      this.fail(tok);
    }
    if (tok.t === 'literal') {
      if (/^-?\d+(\.\d+)?$/.test(tok.v)) return { kind: 'number', value: Number(tok.v) };
      const dt = parseSfDateTime(tok.v);
      if (dt !== undefined) return { kind: 'datetime', value: dt, text: tok.v };
      const d = parseSfDate(tok.v);
      if (d !== undefined) return { kind: 'date', value: d, text: tok.v };
      throw malformedQuery(
        `\n${this.text}\nERROR at Row:1:Column:${tok.pos + 1}\nline 1:${tok.pos} no viable alternative at character '${tok.v}'`,
      );
    }
    return this.fail(tok);
  }
}

export function parseSoql(text: string): SoqlQuery {
  return new Parser(text, tokenize(text)).parse();
}

/** A SELECT item resolved against the schema: a field of the object, or Account.Name through the relationship. */
export interface SelectItem {
  field: FieldDef;
  relationship?: { name: string; field: string };
}

export interface CompiledQuery {
  schema: ObjectSchema;
  count: boolean;
  select: SelectItem[];
  predicate: (row: Row) => boolean;
  /** Rows are already in this order when walking the (SystemModstamp, Id) index. */
  usesIndexOrder: boolean;
  compare?: (a: Row, b: Row) => number;
  /** Lowest SystemModstamp any matching row can have; lets the scan start part-way into the index. */
  minModstamp: number;
  limit?: number;
  offset: number;
}

function noSuchColumn(text: string, name: string, entity: string): SfApiError {
  return new SfApiError(
    400,
    'INVALID_FIELD',
    `\n${text}\nERROR at Row:1:Column:1\nNo such column '${name}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
}

function fieldValue(row: Row, f: FieldDef): Value {
  if (f.slot >= 0) return row[f.slot];
  return null;
}

/** Text compares case-insensitively in SOQL; ids compare by their exact characters (the index order). */
function compareValues(a: Value, b: Value, exact = false): number {
  if (typeof a === 'string' && typeof b === 'string') {
    if (exact) return a < b ? -1 : a > b ? 1 : 0;
    const la = a.toLowerCase();
    const lb = b.toLowerCase();
    return la < lb ? -1 : la > lb ? 1 : 0;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return (a as number) - (b as number);
}

export function compileSoql(text: string, q: SoqlQuery): CompiledQuery {
  const schema = schemaFor(q.from);
  if (!schema) {
    throw new SfApiError(
      400,
      'INVALID_TYPE',
      `\n${text}\nERROR at Row:1:Column:1\nsObject type '${q.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const resolve = (name: string): FieldDef => {
    const f = schema.byLowerName.get(name.toLowerCase());
    if (!f) throw noSuchColumn(text, name, schema.name);
    return f;
  };

  const select: SelectItem[] = q.fields.map((name) => {
    const dot = name.indexOf('.');
    if (dot < 0) return { field: resolve(name) };
    const rel = name.slice(0, dot);
    const relField = name.slice(dot + 1);
    const ref = schema.fields.find((f) => f.relationshipName?.toLowerCase() === rel.toLowerCase());
    if (!ref || relField.toLowerCase() !== 'name') throw noSuchColumn(text, name, schema.name);
    return { field: ref, relationship: { name: ref.relationshipName as string, field: 'Name' } };
  });

  const leaf = (field: FieldDef, lit: Literal): Value => {
    const bad = (expected: string) =>
      new SfApiError(
        400,
        'INVALID_FIELD',
        `\n${text}\nERROR at Row:1:Column:1\nvalue of filter criterion for field '${field.name}' must be of type ${expected} and should not be enclosed in quotes`,
      );
    if (lit.kind === 'null') return null;
    switch (field.type) {
      case 'datetime':
        if (lit.kind !== 'datetime') throw bad('dateTime');
        return lit.value;
      case 'boolean':
        if (lit.kind !== 'boolean') throw bad('boolean');
        return lit.value;
      case 'id':
      case 'reference': {
        if (lit.kind !== 'string')
          throw new SfApiError(
            400,
            'INVALID_FIELD',
            `\n${text}\nERROR at Row:1:Column:1\nvalue of filter criterion for field '${field.name}' must be of type id and should be enclosed in quotes`,
          );
        const id = normalizeId(lit.value);
        if (!id)
          throw new SfApiError(
            400,
            'INVALID_QUERY_FILTER_OPERATOR',
            `\n${text}\nERROR at Row:1:Column:1\ninvalid ID field: ${lit.value}`,
          );
        return id;
      }
      default:
        if (lit.kind !== 'string')
          throw new SfApiError(
            400,
            'INVALID_FIELD',
            `\n${text}\nERROR at Row:1:Column:1\nvalue of filter criterion for field '${field.name}' must be of type string and should be enclosed in quotes`,
          );
        return lit.value;
    }
  };

  const compileCond = (c: Condition): ((row: Row) => boolean) => {
    switch (c.kind) {
      case 'and': {
        const parts = c.items.map(compileCond);
        return (row) => parts.every((p) => p(row));
      }
      case 'or': {
        const parts = c.items.map(compileCond);
        return (row) => parts.some((p) => p(row));
      }
      case 'not': {
        const inner = compileCond(c.item);
        return (row) => !inner(row);
      }
      case 'cmp': {
        const f = resolve(c.field);
        const v = leaf(f, c.value);
        const get = f.slot >= 0 ? (row: Row) => row[f.slot] : (row: Row) => fieldValue(row, f);
        if (v === null) {
          if (c.op === '=') return (row) => get(row) === null;
          if (c.op === '!=') return (row) => get(row) !== null;
          return () => false;
        }
        const op = c.op;
        const exact = f.type === 'id' || f.type === 'reference';
        return (row) => {
          const x = get(row);
          if (x === null) return op === '!=';
          const d = compareValues(x, v, exact);
          switch (op) {
            case '=':
              return d === 0;
            case '!=':
              return d !== 0;
            case '<':
              return d < 0;
            case '<=':
              return d <= 0;
            case '>':
              return d > 0;
            default:
              return d >= 0;
          }
        };
      }
      case 'in': {
        const f = resolve(c.field);
        const values = c.values.map((l) => leaf(f, l));
        const keys = new Set(values.map((v) => (typeof v === 'string' ? v.toLowerCase() : v)));
        return (row) => {
          const x = row[f.slot];
          const hit = keys.has(typeof x === 'string' ? x.toLowerCase() : x);
          return c.negated ? !hit && x !== null : hit;
        };
      }
      case 'like': {
        const f = resolve(c.field);
        const re = new RegExp(
          '^' +
            c.pattern
              .split('')
              .map((ch) => (ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
              .join('') +
            '$',
          'is',
        );
        return (row) => {
          const x = row[f.slot];
          return typeof x === 'string' && re.test(x);
        };
      }
    }
  };

  const predicate = q.where ? compileCond(q.where) : () => true;
  const order = q.orderBy.map((o) => ({ ...o, def: resolve(o.field) }));
  for (const o of order) {
    if (o.def.type === 'textarea') {
      throw new SfApiError(
        400,
        'INVALID_FIELD',
        `\n${text}\nERROR at Row:1:Column:1\nfield '${o.def.name}' can not be sorted in a query call`,
      );
    }
  }
  const isAscIndex = (i: number, slot: number) => order[i] && order[i].def.slot === slot && !order[i].desc;
  const usesIndexOrder =
    order.length === 0 ||
    (order.length === 1 && isAscIndex(0, SLOT_MODSTAMP)) ||
    (order.length === 2 && isAscIndex(0, SLOT_MODSTAMP) && isAscIndex(1, SLOT_ID));
  const compare = usesIndexOrder
    ? undefined
    : (a: Row, b: Row): number => {
        for (const o of order) {
          const x = fieldValue(a, o.def);
          const y = fieldValue(b, o.def);
          let d: number;
          if (x === null || y === null) d = x === y ? 0 : (x === null) !== o.nullsLast ? -1 : 1;
          else {
            const exact = o.def.type === 'id' || o.def.type === 'reference';
            d = o.desc ? -compareValues(x, y, exact) : compareValues(x, y, exact);
          }
          if (d !== 0) return d;
        }
        return 0;
      };

  return {
    schema,
    count: q.count,
    select,
    predicate,
    usesIndexOrder,
    compare,
    minModstamp: q.where ? lowerModstampBound(q.where, schema) : -Infinity,
    limit: q.limit,
    offset: q.offset ?? 0,
  };
}

/** AND takes the tightest child bound, OR the loosest: any row failing the bound fails the whole condition. */
function lowerModstampBound(c: Condition, schema: ObjectSchema): number {
  switch (c.kind) {
    case 'and':
      return Math.max(...c.items.map((i) => lowerModstampBound(i, schema)));
    case 'or':
      return Math.min(...c.items.map((i) => lowerModstampBound(i, schema)));
    case 'cmp': {
      const f = schema.byLowerName.get(c.field.toLowerCase());
      if (
        f?.slot === SLOT_MODSTAMP &&
        c.value.kind === 'datetime' &&
        (c.op === '>' || c.op === '>=' || c.op === '=')
      )
        return c.value.value;
      return -Infinity;
    }
    default:
      return -Infinity;
  }
}
