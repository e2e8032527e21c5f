// CRM search (POST /crm/v3/objects/{type}/search) over the in-memory store: filterGroups (OR of ANDed filters),
// sorts, free-text query, offset paging through `after`, and HubSpot's limits (200 per page, 10,000 per query,
// 5 groups / 6 filters per group / 18 filters). Pure: takes the store, returns ids; HTTP shaping is elsewhere.
import { type ContactRecord, type ContactStore, propertyValue } from './contact-store';
import { validationError } from './hubspot-errors';

export const SEARCH_MAX_LIMIT = 200;
export const SEARCH_RESULT_CAP = 10_000;
const MAX_GROUPS = 5;
const MAX_FILTERS_PER_GROUP = 6;
const MAX_FILTERS = 18;

export interface SearchFilter {
  propertyName?: string;
  operator?: string;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface SearchRequest {
  filterGroups?: { filters?: SearchFilter[] }[];
  sorts?: (string | { propertyName?: string; direction?: string })[];
  query?: string;
  properties?: string[];
  limit?: number;
  after?: string | number;
}

type Kind = 'datetime' | 'number' | 'bool' | 'string';

/** Free-text query looks at these, as HubSpot's default searchable contact properties. */
const QUERY_PROPERTIES = ['firstname', 'lastname', 'email', 'phone', 'company', 'hs_object_id'];

export class ContactSearch {
  // One cached result per distinct query: paging a 10k window must not re-filter and re-sort 100k records per page.
  private cache?: { key: string; version: number; ids: ContactRecord[] };

  constructor(private readonly store: ContactStore) {}

  run(req: SearchRequest): { total: number; page: ContactRecord[]; nextAfter?: string } {
    const limit = req.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_MAX_LIMIT) {
      throw validationError(
        `Invalid input JSON: limit must be between 0 and ${SEARCH_MAX_LIMIT}; got ${String(req.limit)}`,
      );
    }
    const after = req.after === undefined || req.after === '' ? 0 : Number(req.after);
    if (!Number.isInteger(after) || after < 0)
      throw validationError(`Invalid after value: ${String(req.after)}`);
    // HubSpot refuses to page past the 10,000th result of one query instead of answering an empty page.
    if (after + limit > SEARCH_RESULT_CAP) {
      throw validationError(
        `Search results are limited to ${SEARCH_RESULT_CAP} per query; after (${after}) + limit (${limit}) exceeds it. Narrow the filters instead of paging further.`,
        {
          subCategory: 'SEARCH_RESULT_LIMIT_EXCEEDED',
          context: { after: [String(after)], limit: [String(limit)] },
        },
      );
    }
    const matches = this.matching(req);
    const page = matches.slice(after, after + limit);
    const next = after + page.length;
    const nextAfter =
      page.length > 0 && next < matches.length && next < SEARCH_RESULT_CAP ? String(next) : undefined;
    return { total: matches.length, page, nextAfter };
  }

  private matching(req: SearchRequest): ContactRecord[] {
    const groups = req.filterGroups ?? [];
    const sorts = (req.sorts ?? []).map(parseSort);
    const key = JSON.stringify([groups, sorts, req.query ?? '']);
    // While writes wait for the index, answers change with the clock alone: no cache then.
    const cacheable = !this.store.indexPending;
    if (cacheable && this.cache && this.cache.key === key && this.cache.version === this.store.version)
      return this.cache.ids;

    this.validateFilters(groups);
    const predicates = groups.map((g) => (g.filters ?? []).map((f) => this.compile(f)));
    const query = (req.query ?? '').trim().toLowerCase();
    const out: ContactRecord[] = [];
    for (const stored of this.store.all()) {
      // Search answers from its index, which may still hold an older version of the record (or none).
      const r = this.store.searchView(stored);
      if (!r || r.archivedAt) continue;
      if (predicates.length > 0 && !predicates.some((group) => group.every((p) => p(r)))) continue;
      if (
        query &&
        !QUERY_PROPERTIES.some((name) => (propertyValue(r, name) ?? '').toLowerCase().includes(query))
      )
        continue;
      out.push(r);
    }
    if (sorts.length > 0) {
      // Ties break on id so paging over many records sharing one lastmodifieddate is stable.
      const kinds = sorts.map((s) => this.kindOf(s.propertyName));
      out.sort((a, b) => {
        for (let i = 0; i < sorts.length; i++) {
          const c = compareValues(
            kinds[i],
            propertyValue(a, sorts[i].propertyName),
            propertyValue(b, sorts[i].propertyName),
          );
          if (c !== 0) return sorts[i].descending ? -c : c;
        }
        return a.id - b.id;
      });
    }
    if (cacheable) this.cache = { key, version: this.store.version, ids: out };
    return out;
  }

  private validateFilters(groups: { filters?: SearchFilter[] }[]): void {
    if (groups.length > MAX_GROUPS)
      throw validationError(`Too many filter groups (${groups.length}); the maximum is ${MAX_GROUPS}.`);
    let total = 0;
    for (const g of groups) {
      const n = g.filters?.length ?? 0;
      if (n > MAX_FILTERS_PER_GROUP)
        throw validationError(`Too many filters in a group (${n}); the maximum is ${MAX_FILTERS_PER_GROUP}.`);
      total += n;
    }
    if (total > MAX_FILTERS)
      throw validationError(`Too many filters (${total}); the maximum is ${MAX_FILTERS}.`);
  }

  private kindOf(name: string): Kind {
    const t = this.store.getProperty(name)?.type;
    if (t === 'datetime' || t === 'date') return 'datetime';
    if (t === 'number') return 'number';
    if (t === 'bool') return 'bool';
    return 'string';
  }

  private compile(f: SearchFilter): (r: ContactRecord) => boolean {
    const name = f.propertyName;
    if (!name) throw validationError('Filter is missing propertyName.');
    if (!this.store.getProperty(name))
      throw validationError(`There was a problem with the request: property ${name} does not exist.`, {
        subCategory: 'PROPERTY_DOESNT_EXIST',
      });
    const kind = this.kindOf(name);
    const op = (f.operator ?? 'EQ').toUpperCase();
    const get = (r: ContactRecord) => propertyValue(r, name);
    const need = (v: string | undefined, what: string): string => {
      if (v === undefined || v === null)
        throw validationError(`Filter on ${name} with operator ${op} requires ${what}.`);
      return String(v);
    };
    const cmp = (actual: string | undefined, wanted: string) =>
      actual === undefined ? NaN : compareValues(kind, actual, wanted);
    switch (op) {
      case 'EQ': {
        const v = need(f.value, 'value');
        return (r) => cmp(get(r), v) === 0;
      }
      case 'NEQ': {
        const v = need(f.value, 'value');
        return (r) => !(cmp(get(r), v) === 0);
      }
      case 'LT': {
        const v = need(f.value, 'value');
        return (r) => cmp(get(r), v) < 0;
      }
      case 'LTE': {
        const v = need(f.value, 'value');
        return (r) => cmp(get(r), v) <= 0;
      }
      case 'GT': {
        const v = need(f.value, 'value');
        return (r) => cmp(get(r), v) > 0;
      }
      case 'GTE': {
        const v = need(f.value, 'value');
        return (r) => cmp(get(r), v) >= 0;
      }
      case 'BETWEEN': {
        const lo = need(f.value, 'value');
        const hi = need(f.highValue, 'highValue');
        return (r) => cmp(get(r), lo) >= 0 && cmp(get(r), hi) <= 0;
      }
      case 'IN':
      case 'NOT_IN': {
        if (!Array.isArray(f.values))
          throw validationError(`Filter on ${name} with operator ${op} requires values.`);
        const values = f.values.map(String);
        const hit = (r: ContactRecord) => values.some((v) => cmp(get(r), v) === 0);
        return op === 'IN' ? hit : (r) => !hit(r);
      }
      case 'HAS_PROPERTY':
        return (r) => (get(r) ?? '') !== '';
      case 'NOT_HAS_PROPERTY':
        return (r) => (get(r) ?? '') === '';
      case 'CONTAINS_TOKEN':
      case 'NOT_CONTAINS_TOKEN': {
        const token = need(f.value, 'value').toLowerCase().replace(/\*/g, '');
        const hit = (r: ContactRecord) =>
          (get(r) ?? '')
            .toLowerCase()
            .split(/[\s@.,;-]+/)
            .some((t) => t.includes(token));
        return op === 'CONTAINS_TOKEN' ? hit : (r) => !hit(r);
      }
      default:
        throw validationError(`Unknown filter operator ${op}.`);
    }
  }
}

function parseSort(s: string | { propertyName?: string; direction?: string }): {
  propertyName: string;
  descending: boolean;
} {
  if (typeof s === 'string') {
    return s.startsWith('-')
      ? { propertyName: s.slice(1), descending: true }
      : { propertyName: s, descending: false };
  }
  if (!s?.propertyName) throw validationError('Sort is missing propertyName.');
  return {
    propertyName: s.propertyName,
    descending: (s.direction ?? 'ASCENDING').toUpperCase() === 'DESCENDING',
  };
}

/** Datetime filters accept epoch milliseconds or ISO 8601; HubSpot compares them as instants. */
function toInstant(v: string): number {
  return /^-?\d+$/.test(v.trim()) ? Number(v) : Date.parse(v);
}

function compareValues(kind: Kind, a: string | undefined, b: string | undefined): number {
  // Missing values sort last, as HubSpot puts records without the property at the end.
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  switch (kind) {
    case 'datetime':
      return Math.sign(toInstant(a) - toInstant(b));
    case 'number':
      return Math.sign(Number(a) - Number(b));
    case 'bool':
      return a.toLowerCase() === b.toLowerCase() ? 0 : a.toLowerCase() < b.toLowerCase() ? -1 : 1;
    default: {
      // String comparisons in HubSpot search are case-insensitive.
      const x = a.toLowerCase();
      const y = b.toLowerCase();
      return x === y ? 0 : x < y ? -1 : 1;
    }
  }
}
