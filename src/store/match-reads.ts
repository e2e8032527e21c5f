// What duplicate detection reads of customers, through any reader: a transaction, or the detection thread's own
// read connection. Free of the application's graph (no Nest, no TypeORM), so the thread loads only this.
import type { CustomerFields } from '../canonical/customer.model';
import type { Row } from './database';

/** What duplicate detection reads of a customer: no provenance, no timestamps. */
export interface MatchRow {
  id: string;
  version: number;
  emailKey: string | null;
  fields: CustomerFields;
  mergedInto: string | null;
  erasedAt: string | null;
}
/** The same without the fields (nothing to decrypt). */
export type MatchHead = Omit<MatchRow, 'fields'>;

/** Customer ids per IN list at most. */
const IN_CHUNK = 500;

function placeholders(n: number): string {
  return new Array(n).fill('?').join(',');
}

/** What the readers below need: a transaction, or the detection thread's read connection. */
export interface Reader {
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Opens a stored fields object (sealed personal values), or leaves it as stored when PII is not sealed. */
export type FieldsOpener = (stored: Record<string, any>) => CustomerFields;

/** The fields duplicate detection compares, for many customers (see CustomerRepository.loadForMatching). */
export async function readForMatching(
  reader: Reader,
  ids: string[],
  open?: FieldsOpener,
): Promise<Map<string, MatchRow>> {
  const out = new Map<string, MatchRow>();
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    const slice = ids.slice(i, i + IN_CHUNK);
    const rows = await reader.query(
      `SELECT id, version, email_key, fields, merged_into, erased_at FROM customers WHERE id IN (${placeholders(slice.length)})`,
      slice,
    );
    for (const r of rows) {
      const stored = JSON.parse(r.fields);
      out.set(r.id, {
        id: r.id,
        version: Number(r.version),
        emailKey: r.email_key ?? null,
        fields: open ? open(stored) : stored,
        mergedInto: r.merged_into ?? null,
        erasedAt: r.erased_at ?? null,
      });
    }
  }
  return out;
}

/** Versions and status of many customers, without their fields. */
export async function readMatchHeads(reader: Reader, ids: string[]): Promise<Map<string, MatchHead>> {
  const out = new Map<string, MatchHead>();
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    const slice = ids.slice(i, i + IN_CHUNK);
    const rows = await reader.query(
      `SELECT id, version, email_key, merged_into, erased_at FROM customers WHERE id IN (${placeholders(slice.length)})`,
      slice,
    );
    for (const r of rows) out.set(r.id, headOf(r));
  }
  return out;
}

/** A customer row's head (what detection checks before it compares). */
function headOf(r: Row): MatchHead {
  return {
    id: r.id,
    version: Number(r.version),
    emailKey: r.email_key ?? null,
    mergedInto: r.merged_into ?? null,
    erasedAt: r.erased_at ?? null,
  };
}

/**
 * Heads of many customers, with the fields of only those `wanted` says need them (opened from the same read: one
 * lookup per customer where heads then fields took two).
 */
export async function readMatchHeadsOpening(
  reader: Reader,
  ids: string[],
  wanted: (head: MatchHead) => boolean,
  open?: FieldsOpener,
): Promise<Map<string, MatchHead & { fields?: CustomerFields }>> {
  const out = new Map<string, MatchHead & { fields?: CustomerFields }>();
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    const slice = ids.slice(i, i + IN_CHUNK);
    const rows = await reader.query(
      `SELECT id, version, email_key, fields, merged_into, erased_at FROM customers WHERE id IN (${placeholders(slice.length)})`,
      slice,
    );
    for (const r of rows) {
      const head: MatchHead & { fields?: CustomerFields } = headOf(r);
      if (wanted(head)) {
        const stored = JSON.parse(r.fields);
        head.fields = open ? open(stored) : stored;
      }
      out.set(r.id, head);
    }
  }
  return out;
}
