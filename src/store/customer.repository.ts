// SQL for customers, identities and version history. Batched, parameterized statements for the hot path;
// identical on SQLite and PostgreSQL.
import { Injectable, Optional } from '@nestjs/common';
import type { CustomerFields, Identity, Provenance } from '../canonical/customer.model';
import type { FieldChange } from '../canonical/merge-rules';
import { PiiCodec } from '../privacy/pii-codec';
import { Database, StaleVersionError, type Row, type Tx } from './database';
import {
  readForMatching,
  readMatchHeads,
  type FieldsOpener,
  type MatchHead,
  type MatchRow,
} from './match-reads';
import { decodeProvenance, encodeProvenance } from './provenance-codec';

export interface CustomerRow {
  id: string;
  version: number;
  emailKey: string | null;
  fields: CustomerFields;
  provenance: Provenance;
  createdAt: string;
  updatedAt: string;
  mergedInto: string | null;
  erasedAt: string | null;
}

export type { MatchHead, MatchRow, Reader, FieldsOpener } from './match-reads';

export interface VersionRow {
  customerId: string;
  version: number;
  changes: FieldChange[];
  cause: Record<string, unknown>;
  at: string;
}

const IN_CHUNK = 500;

function placeholders(n: number): string {
  return new Array(n).fill('?').join(',');
}

export function toCustomerRow(r: Row, pii?: PiiCodec): CustomerRow {
  const stored = JSON.parse(r.fields);
  return {
    id: r.id,
    version: Number(r.version),
    emailKey: r.email_key ?? null,
    fields: pii ? pii.openFields(stored) : stored,
    provenance: decodeProvenance(r.provenance),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    mergedInto: r.merged_into ?? null,
    erasedAt: r.erased_at ?? null,
  };
}

@Injectable()
export class CustomerRepository {
  /** How stored fields are opened (undefined: they are stored as they are). */
  readonly opener: FieldsOpener | undefined;

  constructor(
    private readonly db: Database,
    // Present whenever the app runs with the privacy module: personal fields are sealed on write, opened on read.
    @Optional() private readonly pii?: PiiCodec,
  ) {
    this.opener = pii && ((stored) => pii.openFields(stored));
  }

  private fieldsJson(fields: CustomerFields): string {
    return JSON.stringify(this.pii ? this.pii.sealFields(fields) : fields);
  }

  /** external id -> customer id, for one (connection, object). */
  async findByIdentities(
    tx: Tx,
    connection: string,
    object: string,
    externalIds: string[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < externalIds.length; i += IN_CHUNK) {
      const ids = externalIds.slice(i, i + IN_CHUNK);
      const rows = await tx.query(
        `SELECT external_id, customer_id FROM customer_identities WHERE connection = ? AND object = ? AND external_id IN (${placeholders(ids.length)})`,
        [connection, object, ...ids],
      );
      for (const r of rows) out.set(r.external_id, r.customer_id);
    }
    return out;
  }

  /** email key -> live customer id (the oldest one if several share it). */
  async findByEmailKeys(tx: Tx, keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += IN_CHUNK) {
      const slice = keys.slice(i, i + IN_CHUNK);
      const rows = await tx.query(
        `SELECT id, email_key FROM customers WHERE email_key IN (${placeholders(slice.length)}) AND merged_into IS NULL AND erased_at IS NULL ORDER BY created_at, id`,
        slice,
      );
      for (const r of rows) if (!out.has(r.email_key)) out.set(r.email_key, r.id);
    }
    return out;
  }

  async loadMany(tx: Tx | Database, ids: string[]): Promise<Map<string, CustomerRow>> {
    const out = new Map<string, CustomerRow>();
    for (let i = 0; i < ids.length; i += IN_CHUNK) {
      const slice = ids.slice(i, i + IN_CHUNK);
      const rows = await tx.query(
        `SELECT * FROM customers WHERE id IN (${placeholders(slice.length)})`,
        slice,
      );
      for (const r of rows) out.set(r.id, toCustomerRow(r, this.pii));
    }
    return out;
  }

  /** The fields duplicate detection compares, for many customers; lighter than loadMany (no provenance). */
  loadForMatching(tx: Tx, ids: string[]): Promise<Map<string, MatchRow>> {
    return readForMatching(tx, ids, this.opener);
  }

  /** Versions and status of many customers, without their fields. */
  loadMatchHeads(tx: Tx, ids: string[]): Promise<Map<string, MatchHead>> {
    return readMatchHeads(tx, ids);
  }

  async insertCustomers(tx: Tx, rows: CustomerRow[]): Promise<void> {
    await tx.insertMany(
      'customers',
      [
        'id',
        'version',
        'email_key',
        'fields',
        'provenance',
        'created_at',
        'updated_at',
        'merged_into',
        'erased_at',
      ],
      rows.map((c) => [
        c.id,
        c.version,
        c.emailKey,
        this.fieldsJson(c.fields),
        encodeProvenance(c.provenance),
        c.createdAt,
        c.updatedAt,
        c.mergedInto,
        c.erasedAt,
      ]),
    );
  }

  /** What an update writes: version, email_key, fields, provenance, updated_at, merged_into, erased_at. */
  private updatedValues(c: CustomerRow): unknown[] {
    return [
      c.version,
      c.emailKey,
      this.fieldsJson(c.fields),
      encodeProvenance(c.provenance),
      c.updatedAt,
      c.mergedInto,
      c.erasedAt,
    ];
  }

  /** Optimistic update: succeeds only if the stored version is still `expectedVersion`. */
  async updateCustomer(tx: Tx, c: CustomerRow, expectedVersion: number): Promise<void> {
    await this.updateCustomers(tx, [{ row: c, expectedVersion }]);
  }

  /**
   * Optimistic updates of many customers, one statement per chunk (a round trip per customer was a cost of its own
   * on PostgreSQL). Any row whose stored version is no longer the expected one fails the whole call with a
   * StaleVersionError, and the transaction is retried from the top.
   */
  async updateCustomers(tx: Tx, updates: { row: CustomerRow; expectedVersion: number }[]): Promise<void> {
    if (tx.dialect === 'sqlite') {
      // In process a statement per row costs nothing; SQLite's planner, without statistics, ran the set-wise form
      // below as a scan of every customer (~0.8 s a chunk at 100,000 customers).
      for (const { row: c, expectedVersion } of updates) {
        const affected = await tx.execute(
          'UPDATE customers SET version = ?, email_key = ?, fields = ?, provenance = ?, updated_at = ?, merged_into = ?, erased_at = ? WHERE id = ? AND version = ?',
          [...this.updatedValues(c), c.id, expectedVersion],
        );
        if (affected !== 1) throw new StaleVersionError('customer', c.id, expectedVersion);
      }
      return;
    }
    // 9 parameters a row: well under the driver's limit.
    for (let i = 0; i < updates.length; i += 500) {
      const chunk = updates.slice(i, i + 500);
      const params: unknown[] = [];
      for (const { row: c, expectedVersion } of chunk)
        params.push(c.id, expectedVersion, ...this.updatedValues(c));
      const tuple = '(?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, ?, ?, ?)';
      const affected = await tx.execute(
        `WITH v (id, expected, version, email_key, fields, provenance, updated_at, merged_into, erased_at) AS (VALUES ${chunk.map(() => tuple).join(',')})
         UPDATE customers SET version = v.version, email_key = v.email_key, fields = v.fields, provenance = v.provenance,
           updated_at = v.updated_at, merged_into = v.merged_into, erased_at = v.erased_at
         FROM v WHERE customers.id = v.id AND customers.version = v.expected`,
        params,
      );
      if (affected !== chunk.length) {
        const first = chunk[0];
        throw new StaleVersionError(
          'customer',
          chunk.length === 1 ? first.row.id : `${chunk.length - affected} of ${chunk.length}`,
          first.expectedVersion,
        );
      }
    }
  }

  async insertIdentities(
    tx: Tx,
    identities: (Identity & { customerId: string; createdAt: string })[],
  ): Promise<void> {
    await tx.insertMany(
      'customer_identities',
      ['connection', 'object', 'external_id', 'customer_id', 'created_at'],
      identities.map((i) => [i.connection, i.object, i.externalId, i.customerId, i.createdAt]),
    );
  }

  async insertVersions(tx: Tx, versions: VersionRow[]): Promise<void> {
    await tx.insertMany(
      'customer_versions',
      ['customer_id', 'version', 'changes', 'cause', 'at'],
      versions.map((v) => [
        v.customerId,
        v.version,
        JSON.stringify(this.pii ? this.pii.sealChanges(v.changes) : v.changes),
        JSON.stringify(v.cause),
        v.at,
      ]),
    );
  }

  async get(id: string): Promise<CustomerRow | null> {
    return (await this.loadMany(this.db, [id])).get(id) ?? null;
  }

  async identitiesOf(customerId: string): Promise<Identity[]> {
    const rows = await this.db.query(
      'SELECT connection, object, external_id FROM customer_identities WHERE customer_id = ? ORDER BY connection, object, external_id',
      [customerId],
    );
    return rows.map((r) => ({ connection: r.connection, object: r.object, externalId: r.external_id }));
  }

  async versions(customerId: string, upTo?: number): Promise<VersionRow[]> {
    const rows = await this.db.query(
      `SELECT * FROM customer_versions WHERE customer_id = ?${upTo !== undefined ? ' AND version <= ?' : ''} ORDER BY version`,
      upTo !== undefined ? [customerId, upTo] : [customerId],
    );
    return rows.map((r) => ({
      customerId: r.customer_id,
      version: Number(r.version),
      changes: this.pii ? this.pii.openChanges(JSON.parse(r.changes)) : JSON.parse(r.changes),
      cause: JSON.parse(r.cause),
      at: r.at,
    }));
  }

  /** The customer's field values as they were at `version`, rebuilt from its history. */
  async fieldsAtVersion(customerId: string, version: number): Promise<CustomerFields | null> {
    const history = await this.versions(customerId, version);
    if (!history.length || history[history.length - 1].version !== version) return null;
    const fields: CustomerFields = {};
    for (const v of history) {
      for (const c of v.changes) {
        if (c.after === null) delete fields[c.field];
        else fields[c.field] = c.after;
      }
    }
    return fields;
  }
}
