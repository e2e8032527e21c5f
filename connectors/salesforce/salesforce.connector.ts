// Salesforce Contact and Lead through jsforce (via SalesforceClient): keyset reads on (SystemModstamp, Id),
// deletions from queryAll and getDeleted, Collections upserts by the Syncline external id, Outbound Messages.
import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  type ConnectionContext,
  type Connector,
  ConnectorCapability,
  ConnectorError,
  ConnectorErrorCode,
  ConnectorKind,
  type ConnectorManifest,
  type DeleteOutcome,
  RateLimiter,
  ReadMode,
  type ReadOptions,
  type ReadPage,
  SynclineConnector,
  type VendorRecord,
  type WriteItem,
  type WriteOutcome,
  WriteStatus,
  vendorTimeAt,
  vendorAccountKey,
} from '../../src/connectors';
import { MappingRegistry } from '../../src/mapping';
import { MAX_COLLECTION_SIZE, SalesforceClient, type SfRecord, type SfSaveResult } from './salesforce.client';
import { codeForSalesforceError } from './salesforce.errors';
import { SalesforceWebhooks } from './salesforce.webhooks';

export const MANIFEST: ConnectorManifest = {
  id: 'salesforce',
  version: '1.0.0',
  displayName: 'Salesforce',
  kind: ConnectorKind.Crm,
  objects: ['Contact', 'Lead'],
  capabilities: [
    ConnectorCapability.IncrementalRead,
    ConnectorCapability.FullRead,
    ConnectorCapability.BatchWrite,
    ConnectorCapability.Delete,
    ConnectorCapability.Webhooks,
  ],
  // Salesforce allows 25 concurrent long requests per org and a daily total; 20/s keeps us well inside both.
  limits: { maxBatchSize: 200, rateBudget: { requests: 20, perMs: 1_000 } },
};

/** Salesforce answers at most 2,000 rows per query response; LIMIT above that would need a second request. */
export const MAX_PAGE_SIZE = 2_000;
/** getDeleted reaches 15 days back; older deletions need a full reconciliation. */
const DELETED_WINDOW_MS = 15 * 86_400_000;
/** IN lists stay far below the 100,000-character SOQL limit. */
const READ_BY_IDS_CHUNK = 200;
const ID_RE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/**
 * A well-formed Salesforce id: 15 characters, or 18 whose last 3 are the case checksum of the first 15.
 * SOQL rejects the whole query for one bad id in an IN list, so bad ones are filtered out first.
 */
export function isSalesforceId(id: string): boolean {
  if (!ID_RE.test(id)) return false;
  if (id.length === 15) return true;
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return id.slice(15).toUpperCase() === suffix;
}

/**
 * SystemModstamp has whole seconds, so a second can still receive records after a read has passed part of it,
 * some with lower Ids than the last one read. A second counts as closed once Salesforce's clock, when a read
 * first reached it, was this far past its end (commits that land late, Date header rounded down).
 */
export const OPEN_SECOND_GRACE_MS = 2_000;

/**
 * Position after the last record read: its SystemModstamp (ISO, UTC) and Id; id null = "from t inclusive".
 * Cursors handed out have id null while t's second may still receive records, so the next read starts that
 * whole second again (records read twice are no-ops for the engine); once it is closed they resume exactly.
 */
interface KeysetPosition {
  t: string;
  id: string | null;
}

export function encodeCursor(p: KeysetPosition): string {
  return JSON.stringify({ t: p.t, id: p.id });
}

export function decodeCursor(cursor: string): KeysetPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    throw new ConnectorError(ConnectorErrorCode.Permanent, `invalid Salesforce cursor: ${cursor}`);
  }
  const p = parsed as { t?: unknown; id?: unknown };
  if (
    typeof p?.t !== 'string' ||
    Number.isNaN(Date.parse(p.t)) ||
    (p.id !== null && (typeof p.id !== 'string' || !isSalesforceId(p.id)))
  ) {
    throw new ConnectorError(ConnectorErrorCode.Permanent, `invalid Salesforce cursor: ${cursor}`);
  }
  return { t: new Date(p.t).toISOString(), id: p.id };
}

/** REST datetimes come as 2024-01-01T00:00:00.000+0000; Date.parse wants the offset with a colon. */
export function toIsoUtc(sfDateTime: string): string {
  const d = new Date(sfDateTime.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(d.getTime()))
    throw new ConnectorError(ConnectorErrorCode.Temporary, `unreadable Salesforce datetime ${sfDateTime}`);
  return d.toISOString();
}

/** SOQL datetime literal (unquoted); seconds precision is what SystemModstamp stores, keep ms if ever present. */
function soqlDateTime(iso: string): string {
  return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso;
}

/** Only ids (validated) and datetimes are interpolated; both are alphabets that cannot break out of SOQL. */
export function keysetSoql(
  object: string,
  fields: string[],
  after: KeysetPosition | null,
  limit: number,
): string {
  let where = '';
  if (after) {
    const t = soqlDateTime(after.t);
    where =
      after.id === null
        ? ` WHERE SystemModstamp >= ${t}`
        : ` WHERE SystemModstamp > ${t} OR (SystemModstamp = ${t} AND Id > '${after.id}')`;
  }
  return `SELECT ${fields.join(', ')} FROM ${object}${where} ORDER BY SystemModstamp, Id LIMIT ${limit}`;
}

@Injectable()
@SynclineConnector(MANIFEST)
export class SalesforceConnector implements Connector {
  readonly manifest = MANIFEST;
  readonly webhooks: SalesforceWebhooks;
  private readonly clients = new Map<string, { fingerprint: string; client: SalesforceClient }>();

  constructor(
    private readonly rateLimiter: RateLimiter,
    private readonly mappings: MappingRegistry,
  ) {
    this.webhooks = new SalesforceWebhooks(mappings);
  }

  /** An org is one instance: connections to it, whichever user they log in as, write the same records. */
  accountKey(connection: ConnectionContext): string {
    const org = connection.settings.organizationId;
    return vendorAccountKey(
      'salesforce',
      typeof org === 'string' ? org : (connection.credentials.instanceUrl ?? connection.baseUrl),
    );
  }

  async check(connection: ConnectionContext): Promise<void> {
    await this.client(connection).limits();
  }

  async *read(
    connection: ConnectionContext,
    object: string,
    cursor: string | null,
    options: ReadOptions,
  ): AsyncIterable<ReadPage> {
    const sobject = this.sobject(object);
    const client = this.client(connection);
    const pageSize = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(options.pageSize ?? MAX_PAGE_SIZE)));
    const start = cursor === null ? null : decodeCursor(cursor);
    // Incremental reads use queryAll so deletions (IsDeleted, SystemModstamp bumped) come in the same keyset.
    const incremental = options.mode === ReadMode.Incremental && start !== null;
    const fields = this.selectFields(sobject, incremental);
    let position = start;
    if (incremental && start) {
      const lookbackMs = lookback(connection);
      if (lookbackMs > 0)
        position = { t: new Date(Date.parse(start.t) - lookbackMs).toISOString(), id: null };
    }
    let lastCursor = cursor;
    // Salesforce's clock when this read first reached the second of `position`: the answer that judges it.
    let reachedAt: number | undefined;
    const reportedDeleted = new Set<string>();
    for (;;) {
      options.signal?.throwIfAborted();
      const askedAt = Date.now();
      const page = await client.queryPage(keysetSoql(sobject, fields, position, pageSize), incremental);
      const rows = page.records;
      const answeredAt = vendorTimeAt(page.serverTime, askedAt);
      const records: VendorRecord[] = [];
      const deleted: string[] = [];
      for (const row of rows) {
        const id = String(row.Id);
        if (row.IsDeleted === true) {
          deleted.push(id);
          reportedDeleted.add(id);
        } else {
          records.push(this.toVendorRecord(row, incremental));
        }
      }
      const last = rows[rows.length - 1];
      if (last) {
        const t = toIsoUtc(String(last.SystemModstamp));
        // The answer that first reached this second judges it: records added to it since, with lower Ids than
        // the ones read then, are behind this read. (A start already in a closed second is judged closed again.)
        if (reachedAt === undefined || position === null || position.t !== t) reachedAt = answeredAt;
        // Paging inside this read always moves on by (t, Id); only the cursor handed out is relaxed.
        position = { t, id: String(last.Id) };
        lastCursor = encodeCursor(secondClosed(t, reachedAt) ? position : { t, id: null });
      }
      const done = rows.length < pageSize;
      if (done && incremental && start) {
        for (const id of await this.recentlyDeleted(client, sobject, start.t))
          if (!reportedDeleted.has(id)) deleted.push(id);
      }
      yield { records, deleted, cursor: lastCursor };
      if (done) return;
    }
  }

  async readByIds(connection: ConnectionContext, object: string, ids: string[]): Promise<VendorRecord[]> {
    const sobject = this.sobject(object);
    const client = this.client(connection);
    const fields = this.selectFields(sobject, false);
    const valid = [...new Set(ids)].filter(isSalesforceId);
    const out: VendorRecord[] = [];
    for (let i = 0; i < valid.length; i += READ_BY_IDS_CHUNK) {
      const chunk = valid.slice(i, i + READ_BY_IDS_CHUNK);
      const soql = `SELECT ${fields.join(', ')} FROM ${sobject} WHERE Id IN (${chunk.map((id) => `'${id}'`).join(', ')})`;
      for (const row of await client.query(soql)) out.push(this.toVendorRecord(row, false));
    }
    return out;
  }

  /**
   * Items without a vendor id are upserted by the Syncline external id (key), so a retried batch never
   * duplicates. Items with one (records we read from Salesforce, which may not carry our key yet) are updated
   * by Id and stamped with the key, so later upserts find them.
   */
  async write(connection: ConnectionContext, object: string, batch: WriteItem[]): Promise<WriteOutcome[]> {
    const sobject = this.sobject(object);
    const client = this.client(connection);
    const syncIdField =
      this.mappings.get(MANIFEST.id, sobject).definition.identity.syncIdField ?? 'Syncline_Id__c';
    const outcomes = new Map<WriteItem, WriteOutcome>();
    const byId = batch.filter((item) => item.externalId !== undefined && isSalesforceId(item.externalId));
    const byKey = batch.filter((item) => !byId.includes(item));
    const chunks: Array<{
      items: WriteItem[];
      run: () => Promise<SfSaveResult[]>;
      notFoundCodes: Set<string>;
    }> = [];
    for (let i = 0; i < byKey.length; i += MAX_COLLECTION_SIZE) {
      const items = byKey.slice(i, i + MAX_COLLECTION_SIZE);
      const records = items.map((item) => ({ ...stripReadOnly(item.record), [syncIdField]: item.key }));
      chunks.push({
        items,
        run: () => client.upsert(sobject, syncIdField, records),
        notFoundCodes: new Set(),
      });
    }
    for (let i = 0; i < byId.length; i += MAX_COLLECTION_SIZE) {
      const items = byId.slice(i, i + MAX_COLLECTION_SIZE);
      const records = items.map((item) => ({
        ...stripReadOnly(item.record),
        Id: item.externalId as string,
        [syncIdField]: item.key,
      }));
      // On an update by Id these mean "that record is gone", not bad data
      chunks.push({
        items,
        run: () => client.update(sobject, records),
        notFoundCodes: new Set(['INVALID_CROSS_REFERENCE_KEY', 'ENTITY_IS_DELETED']),
      });
    }
    for (const chunk of chunks) {
      let results: SfSaveResult[];
      try {
        results = await chunk.run();
      } catch (err) {
        // Nothing written yet: let the engine see the request failure as such. Otherwise every record not
        // yet sent gets that failure as its outcome, so the ones already written are not reported twice.
        if (outcomes.size === 0 || !(err instanceof ConnectorError)) throw err;
        for (const item of batch) {
          if (!outcomes.has(item)) {
            outcomes.set(item, {
              key: item.key,
              status: WriteStatus.Failed,
              error: {
                code: err.code,
                message: err.message,
                retryAfterMs: err.retryAfterMs,
                vendorCode: err.details.vendorCode,
              },
            });
          }
        }
        break;
      }
      chunk.items.forEach((item, idx) =>
        outcomes.set(item, toWriteOutcome(item, results[idx], chunk.notFoundCodes)),
      );
    }
    return batch.map((item) => outcomes.get(item) as WriteOutcome);
  }

  async delete(
    connection: ConnectionContext,
    object: string,
    externalIds: string[],
  ): Promise<DeleteOutcome[]> {
    this.sobject(object);
    const client = this.client(connection);
    const out: DeleteOutcome[] = [];
    for (let i = 0; i < externalIds.length; i += MAX_COLLECTION_SIZE) {
      const ids = externalIds.slice(i, i + MAX_COLLECTION_SIZE);
      const results = await client.destroy(object, ids);
      ids.forEach((externalId, idx) => {
        const r = results[idx];
        if (r.success) return out.push({ externalId, status: 'deleted' });
        const e = r.errors[0];
        const vendorCode = e?.statusCode ?? 'UNKNOWN_ERROR';
        // Already deleted or never there: the goal of the delete holds.
        if (
          vendorCode === 'ENTITY_IS_DELETED' ||
          vendorCode === 'NOT_FOUND' ||
          vendorCode === 'INVALID_CROSS_REFERENCE_KEY'
        ) {
          return out.push({
            externalId,
            status: 'not-found',
            error: { code: ConnectorErrorCode.NotFound, message: e?.message ?? '', vendorCode },
          });
        }
        out.push({
          externalId,
          status: 'failed',
          error: { code: codeForSalesforceError(vendorCode), message: e?.message ?? '', vendorCode },
        });
      });
    }
    return out;
  }

  /**
   * Privacy erasure: the Collections delete only moves records to the recycle bin, where queryAll, undelete and
   * the org's admins still see them for 15 days, so the deleted ids are then emptied from the recycle bin (SOAP
   * emptyRecycleBin, a hard delete). A record already in the bin (ENTITY_IS_DELETED) is emptied too; one that is in
   * neither place is already gone.
   */
  async erase(
    connection: ConnectionContext,
    object: string,
    externalIds: string[],
  ): Promise<DeleteOutcome[]> {
    this.sobject(object);
    const client = this.client(connection);
    const deleted = await this.delete(connection, object, externalIds);
    const out = new Map<string, DeleteOutcome>();
    const binned: string[] = [];
    for (const o of deleted) {
      if (o.status === 'deleted' || o.error?.vendorCode === 'ENTITY_IS_DELETED') binned.push(o.externalId);
      else
        out.set(
          o.externalId,
          o.status === 'not-found' ? { externalId: o.externalId, status: 'not-found' } : o,
        );
    }
    for (let i = 0; i < binned.length; i += MAX_COLLECTION_SIZE) {
      const ids = binned.slice(i, i + MAX_COLLECTION_SIZE);
      const results = await client.emptyRecycleBin(ids);
      ids.forEach((externalId, idx) => {
        const r = results[idx];
        if (r.success) return out.set(externalId, { externalId, status: 'deleted' });
        const e = r.errors[0];
        const vendorCode = e?.statusCode ?? 'UNKNOWN_ERROR';
        // Purged meanwhile (or by the 15-day cleanup): nothing left to empty.
        if (
          vendorCode === 'INVALID_ID_FIELD' ||
          vendorCode === 'NOT_FOUND' ||
          vendorCode === 'INVALID_CROSS_REFERENCE_KEY'
        ) {
          return out.set(externalId, { externalId, status: 'not-found' });
        }
        out.set(externalId, {
          externalId,
          status: 'failed',
          error: { code: codeForSalesforceError(vendorCode), message: e?.message ?? '', vendorCode },
        });
      });
    }
    return externalIds.map((id) => out.get(id) as DeleteOutcome);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private sobject(object: string): string {
    const name = MANIFEST.objects.find((o) => o.toLowerCase() === object.toLowerCase());
    if (!name)
      throw new ConnectorError(
        ConnectorErrorCode.Permanent,
        `salesforce connector does not handle object "${object}"`,
      );
    return name;
  }

  /** Id, the keyset fields, the sync id, and every inbound source of the mapping (Account.Name included). */
  selectFields(object: string, withIsDeleted: boolean): string[] {
    const mapping = this.mappings.get(MANIFEST.id, object);
    const def = mapping.definition;
    const fields = ['Id', 'SystemModstamp'];
    if (withIsDeleted) fields.push('IsDeleted');
    if (def.identity.syncIdField) fields.push(def.identity.syncIdField);
    if (def.timestamp) fields.push(typeof def.timestamp === 'string' ? def.timestamp : def.timestamp.from);
    for (const rule of mapping.inbound) fields.push(...rule.sources);
    const seen = new Set<string>();
    return fields.filter((f) => {
      const k = f.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  private toVendorRecord(row: SfRecord, dropIsDeleted: boolean): VendorRecord {
    const { attributes: _a, ...data } = row;
    if (dropIsDeleted) delete data.IsDeleted;
    const stamp = typeof row.SystemModstamp === 'string' ? toIsoUtc(row.SystemModstamp) : undefined;
    return { id: String(row.Id), data, modifiedAt: stamp };
  }

  /**
   * Ids getDeleted reports since `sinceIso`. It catches records queryAll cannot see any more (recycle bin
   * emptied). Its window is whole minutes within the last 15 days; outside it we report nothing extra.
   */
  private async recentlyDeleted(
    client: SalesforceClient,
    object: string,
    sinceIso: string,
  ): Promise<string[]> {
    const now = Date.now();
    const start = Math.max(Date.parse(sinceIso) - 60_000, now - DELETED_WINDOW_MS + 60_000);
    // Salesforce answers up to its own latestDateCovered, so a generous end absorbs clock skew between us and it.
    const end = now + 10 * 60_000;
    if (end - start <= 60_000) return [];
    try {
      return (await client.deleted(object, new Date(start), new Date(end))).map((d) => d.id);
    } catch (err) {
      // The fallback must not fail the read: a refused window (purged log, clock skew) just adds nothing.
      if (err instanceof ConnectorError && err.code === ConnectorErrorCode.Permanent) return [];
      throw err;
    }
  }

  private client(connection: ConnectionContext): SalesforceClient {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([connection.baseUrl ?? '', Object.entries(connection.credentials).sort()]))
      .digest('hex');
    const cached = this.clients.get(connection.id);
    if (cached && cached.fingerprint === fingerprint) return cached.client;
    const key = `salesforce:${connection.id}`;
    const budget = MANIFEST.limits.rateBudget as { requests: number; perMs: number };
    const client = new SalesforceClient({
      credentials: connection.credentials,
      loginUrl: connection.baseUrl,
      beforeRequest: () => this.rateLimiter.acquire(key, budget),
      onRateLimited: (ms) => this.rateLimiter.pause(key, Date.now() + ms),
    });
    this.clients.set(connection.id, { fingerprint, client });
    return client;
  }
}

/** No record can still be stamped with t's second: Salesforce's clock was past its end, plus the grace. */
export function secondClosed(t: string, serverTime: number): boolean {
  const secondEnd = Math.floor(Date.parse(t) / 1000) * 1000 + 1000;
  return serverTime >= secondEnd + OPEN_SECOND_GRACE_MS;
}

function lookback(connection: ConnectionContext): number {
  const s = connection.settings.lookbackSeconds;
  return typeof s === 'number' && s > 0 ? s * 1000 : 0;
}

/** Fields Salesforce would refuse on write (system and relationship fields a caller may pass through). */
function stripReadOnly(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (
      ['Id', 'attributes', 'IsDeleted', 'SystemModstamp', 'CreatedDate', 'LastModifiedDate', 'Name'].includes(
        k,
      )
    )
      continue;
    if (v !== null && typeof v === 'object') continue; // nested relationship data (Account: {Name}) is read-only
    out[k] = v;
  }
  return out;
}

function toWriteOutcome(
  item: WriteItem,
  r: SfSaveResult | undefined,
  notFoundCodes: Set<string>,
): WriteOutcome {
  if (r?.success) {
    return {
      key: item.key,
      status: r.created === true ? WriteStatus.Created : WriteStatus.Updated,
      externalId: r.id ?? item.externalId,
    };
  }
  const e = r?.errors[0];
  const vendorCode = e?.statusCode ?? 'UNKNOWN_ERROR';
  const code = notFoundCodes.has(vendorCode)
    ? ConnectorErrorCode.NotFound
    : codeForSalesforceError(vendorCode);
  const message = e
    ? `${e.message}${e.fields.length ? ` (${e.fields.join(', ')})` : ''}`
    : 'no result for this record';
  return {
    key: item.key,
    status: WriteStatus.Failed,
    externalId: item.externalId,
    error: { code, message, vendorCode },
  };
}
