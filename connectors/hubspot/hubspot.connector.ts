// HubSpot CRM contacts. Incremental reads go through search on lastmodifieddate with a compound (timestamp, id)
// cursor, each page a keyset query from the last record (so the 10,000-result cap is never reached); full reads page the list endpoint; writes are
// batch upserts by email (or batch updates by id) with 207 answers turned into per-record outcomes.
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
  type RateBudget,
  RateLimiter,
  type ReadOptions,
  ReadMode,
  type ReadPage,
  SynclineConnector,
  type VendorRecord,
  type WriteItem,
  type WriteOutcome,
  WriteStatus,
  vendorTimeAt,
  vendorAccountKey,
} from '../../src/connectors';
import { type HsBatchResult, HubSpotClient, type HsObject } from './hubspot.client';
import { batchErrorCode, batchErrorVendorCode, type HubSpotBatchError } from './hubspot.errors';
import { HubSpotWebhookHandler } from './hubspot.webhooks';

export const HUBSPOT_MANIFEST: ConnectorManifest = {
  id: 'hubspot',
  version: '1.0.0',
  displayName: 'HubSpot',
  kind: ConnectorKind.Crm,
  objects: ['contacts'],
  capabilities: [
    ConnectorCapability.IncrementalRead,
    ConnectorCapability.FullRead,
    ConnectorCapability.BatchWrite,
    ConnectorCapability.Delete,
    ConnectorCapability.Webhooks,
  ],
  limits: { maxBatchSize: 100, rateBudget: { requests: 100, perMs: 10_000 } },
};

/** HubSpot's batch endpoints take at most 100 inputs. */
export const BATCH_LIMIT = 100;
/** Search pages hold at most 200 results; the list endpoint 100. */
export const SEARCH_PAGE_MAX = 200;
export const LIST_PAGE_MAX = 100;
/** Search refuses after + limit beyond this; incremental reads page by keyset and never get near it. */
export const SEARCH_RESULT_CAP = 10_000;
/**
 * Our limiter stamps a request when it is sent, HubSpot when it arrives; widening the window a little keeps the
 * two rolling windows from disagreeing by one request under latency jitter.
 */
const WINDOW_MARGIN_MS = 1_000;
/**
 * HubSpot documents that search results can trail a write by a few seconds. A search answer holds every record
 * modified more than this before HubSpot's clock at the answer; a cursor never goes past that point, so what
 * the index had not taken yet is read next time (re-reads are no-ops for the engine). `searchLagSeconds` overrides.
 */
export const DEFAULT_SEARCH_LAG_MS = 30_000;

/** What mappings/hubspot/contacts.yaml reads (inbound `from` and the phone rule's country), plus the cursor's fields. */
export const CONTACT_PROPERTIES = [
  'email',
  'firstname',
  'lastname',
  'phone',
  'company',
  'jobtitle',
  'city',
  'country',
  'lifecyclestage',
  'hs_email_optout',
  'createdate',
  'lastmodifieddate',
  'hs_object_id',
];

/** The read position. `list` = inside a full read; `inc` = incremental; `del` = inside the deletion sweep. */
interface Cursor {
  v: 1;
  phase: 'list' | 'inc' | 'del';
  /** lastmodifieddate (epoch ms) and id of the last record returned. */
  t: number;
  id: string;
  /** Deletions with archivedAt > dt were not reported yet. */
  dt: number;
  /** Paging token of the list or archived sweep. */
  after?: string;
  /** Largest archivedAt seen by the running sweep (cursors written before `ds` existed). */
  dmax?: number;
  /**
   * The running sweep listed every contact archived at or before this (HubSpot's clock at its first page, less
   * 1 ms); it becomes the next `dt`. Archived records are listed by id, so one archived while the sweep ran can
   * sit on a page already passed: a later archivedAt seen further on says nothing about it.
   */
  ds?: number;
}

const encode = (c: Cursor): string => JSON.stringify(c);

function decode(raw: string | null): Cursor | null {
  if (raw === null) return null;
  let c: Partial<Cursor>;
  try {
    c = JSON.parse(raw) as Partial<Cursor>;
  } catch {
    throw new ConnectorError(ConnectorErrorCode.Permanent, `not a HubSpot cursor: ${raw.slice(0, 80)}`);
  }
  if (
    c?.v !== 1 ||
    !['list', 'inc', 'del'].includes(String(c.phase)) ||
    typeof c.t !== 'number' ||
    typeof c.id !== 'string' ||
    typeof c.dt !== 'number'
  )
    throw new ConnectorError(ConnectorErrorCode.Permanent, `not a HubSpot cursor: ${raw.slice(0, 80)}`);
  return c as Cursor;
}

/** The later of two positions in (t, id) order. */
function later<P extends { t: number; id: string }>(a: P, b: P): P {
  return after(b.t, b.id, a) ? b : a;
}

/** (t, id) order with numeric ids, the order search sorts in. */
function after(t: number, id: string, c: { t: number; id: string }): boolean {
  return t > c.t || (t === c.t && BigInt(id) > BigInt(c.id));
}

function modifiedMs(o: HsObject): number {
  const v = o.properties.lastmodifieddate;
  const ms = v ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : 0;
}

function toVendorRecord(o: HsObject): VendorRecord {
  const r: VendorRecord = { id: o.id, data: { id: o.id, properties: o.properties } };
  const m = o.properties.lastmodifieddate;
  if (m) r.modifiedAt = new Date(m).toISOString();
  return r;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function errorOf(e: ConnectorError): WriteOutcome['error'] {
  return { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs, vendorCode: e.details.vendorCode };
}

@Injectable()
@SynclineConnector(HUBSPOT_MANIFEST)
export class HubSpotConnector implements Connector {
  readonly manifest = HUBSPOT_MANIFEST;
  readonly webhooks = new HubSpotWebhookHandler();
  private readonly clients = new Map<string, { fingerprint: string; client: HubSpotClient }>();

  constructor(private readonly limiter: RateLimiter) {}

  async check(connection: ConnectionContext): Promise<void> {
    await this.client(connection).getPage({ limit: 1, properties: ['hs_object_id'] });
  }

  /** A private app's token acts on one portal: connections sharing it write the same contacts. */
  accountKey(connection: ConnectionContext): string {
    return vendorAccountKey(
      'hubspot',
      connection.baseUrl ?? connection.credentials.basePath,
      connection.credentials.accessToken,
    );
  }

  async *read(
    connection: ConnectionContext,
    object: string,
    rawCursor: string | null,
    options: ReadOptions,
  ): AsyncIterable<ReadPage> {
    this.requireObject(object);
    const client = this.client(connection);
    const cursor = decode(rawCursor);
    // A full read that crashed resumes its list; an incremental cursor asked to read fully starts over.
    if (cursor?.phase === 'list') {
      yield* this.fullRead(client, cursor, options);
      return;
    }
    if (options.mode === ReadMode.Full) {
      yield* this.fullRead(client, null, options);
      return;
    }
    let c: Cursor = cursor ?? { v: 1, phase: 'inc', t: 0, id: '0', dt: 0 };
    if (c.phase === 'inc') {
      for await (const page of this.searchSince(
        client,
        c,
        settingMs(connection, 'searchLagSeconds', DEFAULT_SEARCH_LAG_MS),
        settingMs(connection, 'lookbackSeconds', 0),
        options,
      )) {
        c = page.next;
        yield { records: page.records, deleted: [], cursor: encode(c) };
      }
    }
    yield* this.deletionSweep(client, c, options);
  }

  async readByIds(connection: ConnectionContext, object: string, ids: string[]): Promise<VendorRecord[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const out: VendorRecord[] = [];
    // Ids HubSpot cannot find come back as 207 errors; absent records are simply not returned.
    for (const part of chunk([...new Set(ids)], BATCH_LIMIT)) {
      const res = await client.batchRead(part, CONTACT_PROPERTIES);
      out.push(...res.results.map(toVendorRecord));
    }
    return out;
  }

  async write(connection: ConnectionContext, object: string, batch: WriteItem[]): Promise<WriteOutcome[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const outcomes = new Map<string, WriteOutcome>();
    const byId: { item: WriteItem; properties: Record<string, string> }[] = [];
    const byEmail: { item: WriteItem; email: string; properties: Record<string, string> }[] = [];
    for (const item of batch) {
      const properties = toProperties(item.record);
      const email = properties.email?.trim().toLowerCase();
      if (item.externalId) byId.push({ item, properties });
      else if (email) byEmail.push({ item, email, properties });
      else
        outcomes.set(item.key, {
          key: item.key,
          status: WriteStatus.Failed,
          error: {
            code: ConnectorErrorCode.InvalidData,
            message: 'a new HubSpot contact needs an email (the upsert key)',
          },
        });
    }

    for (const part of chunk(byId, BATCH_LIMIT)) {
      const inputs = part.map((p) => ({ id: p.item.externalId as string, properties: p.properties }));
      const res = await this.guard(() => client.batchUpdate(inputs));
      this.settle(
        outcomes,
        part.map((p) => ({ key: p.item.key, match: p.item.externalId as string })),
        res,
        (o) => o.id,
        () => WriteStatus.Updated,
      );
    }

    // HubSpot refuses a whole upsert batch that names one email twice, so duplicates go to later chunks.
    for (const part of chunkDistinct(byEmail, (p) => p.email, BATCH_LIMIT)) {
      const inputs = part.map((p) => ({ id: p.email, properties: p.properties }));
      const res = await this.guard(() => client.batchUpsert('email', inputs));
      this.settle(
        outcomes,
        part.map((p) => ({ key: p.item.key, match: p.email })),
        res,
        (o) => (o.properties.email ?? '').trim().toLowerCase(),
        (o) => (o.created ? WriteStatus.Created : WriteStatus.Updated),
      );
    }
    return batch.map((i) => outcomes.get(i.key) as WriteOutcome);
  }

  async delete(
    connection: ConnectionContext,
    object: string,
    externalIds: string[],
  ): Promise<DeleteOutcome[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const outcomes = new Map<string, DeleteOutcome>();
    for (const part of chunk([...new Set(externalIds)], BATCH_LIMIT)) {
      try {
        // Archive answers 204 whatever the ids, so a read first tells deleted from never-there.
        const live = new Set((await client.batchRead(part, ['hs_object_id'])).results.map((r) => r.id));
        const toArchive = part.filter((id) => live.has(id));
        if (toArchive.length > 0) await client.batchArchive(toArchive);
        for (const id of part)
          outcomes.set(id, { externalId: id, status: live.has(id) ? 'deleted' : 'not-found' });
      } catch (e) {
        const err = this.nonAuth(e);
        for (const id of part) outcomes.set(id, { externalId: id, status: 'failed', error: errorOf(err) });
      }
    }
    return externalIds.map((id) => outcomes.get(id) as DeleteOutcome);
  }

  /**
   * Privacy erasure: HubSpot's GDPR delete, one contact per request (there is no batch form). Unlike `delete`
   * (archive, restorable for 90 days) nothing of the contact remains, archived copy included. An id HubSpot does not
   * know (404) is already gone. When HubSpot is down or throttling, the remaining ids fail without being tried.
   */
  async erase(
    connection: ConnectionContext,
    object: string,
    externalIds: string[],
  ): Promise<DeleteOutcome[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const outcomes = new Map<string, DeleteOutcome>();
    let stop: ConnectorError | undefined;
    for (const id of new Set(externalIds)) {
      if (stop) {
        outcomes.set(id, { externalId: id, status: 'failed', error: errorOf(stop) });
        continue;
      }
      try {
        await client.gdprDelete(id);
        outcomes.set(id, { externalId: id, status: 'deleted' });
      } catch (e) {
        const err = this.nonAuth(e);
        if (err.code === ConnectorErrorCode.NotFound) {
          outcomes.set(id, { externalId: id, status: 'not-found' });
          continue;
        }
        outcomes.set(id, { externalId: id, status: 'failed', error: errorOf(err) });
        if (err.code === ConnectorErrorCode.Temporary || err.code === ConnectorErrorCode.RateLimited)
          stop = err;
      }
    }
    return externalIds.map((id) => outcomes.get(id) as DeleteOutcome);
  }

  /** Full read over the list endpoint; the last page hands over an incremental cursor anchored before the read. */
  private async *fullRead(
    client: HubSpotClient,
    resume: Cursor | null,
    options: ReadOptions,
  ): AsyncIterable<ReadPage> {
    let base = resume;
    if (!base) {
      // HubSpot's own newest (lastmodifieddate, id) before the read starts: every later change sorts after it, and
      // it is the vendor's clock, not ours.
      const top = await client.search(
        {
          filterGroups: [],
          sorts: ['-lastmodifieddate', '-hs_object_id'],
          properties: ['lastmodifieddate'],
          limit: 1,
        },
        options.signal,
      );
      const newest = top.results[0];
      const t = newest ? modifiedMs(newest) : 0;
      base = { v: 1, phase: 'list', t, id: newest?.id ?? '0', dt: t };
    }
    const limit = Math.min(options.pageSize ?? LIST_PAGE_MAX, LIST_PAGE_MAX);
    let afterToken = base.after;
    for (;;) {
      const page = await client.getPage({
        limit,
        after: afterToken,
        properties: CONTACT_PROPERTIES,
        signal: options.signal,
      });
      afterToken = page.next;
      const cursor: Cursor = afterToken
        ? { ...base, phase: 'list', after: afterToken }
        : { v: 1, phase: 'inc', t: base.t, id: base.id, dt: base.dt };
      yield { records: page.results.map(toVendorRecord), deleted: [], cursor: encode(cursor) };
      if (!afterToken) return;
    }
  }

  /**
   * Records after (t, id), oldest first. Every page is a query of its own whose lower bound is the last record
   * returned (keyset paging), never `after`: HubSpot's `after` is an offset into a result set that moves under
   * the read (a record the read already returned, edited, leaves its place for the end of the window, and the
   * next offset then steps over the record that slid into it). Keyset pages also never meet the 10,000 cap.
   *
   * Search trails writes: a record modified just before a query may not be in its answer yet, while later ones
   * are, so the last record returned is not a safe cursor. The cursor handed out stops at the first answer's
   * settled point (HubSpot's clock at that answer less `lagMs`) that the read went past: the records after it
   * are read again next time. Paging inside the read still moves on by the exact (t, id).
   */
  private async *searchSince(
    client: HubSpotClient,
    start: Cursor,
    lagMs: number,
    lookbackMs: number,
    options: ReadOptions,
  ): AsyncIterable<{ records: VendorRecord[]; next: Cursor }> {
    const limit = Math.min(options.pageSize ?? SEARCH_PAGE_MAX, SEARCH_PAGE_MAX);
    // The read position; `lookbackSeconds` starts it earlier (the handed-out cursor never goes back).
    let c: Cursor = lookbackMs > 0 ? { ...start, t: Math.max(0, start.t - lookbackMs), id: '0' } : start;
    let handed = start;
    let ceiling: number | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      const t = String(c.t);
      const askedAt = Date.now();
      const page = await client.search(
        {
          // (lastmodifieddate > t) OR (lastmodifieddate = t AND id > cursor id): the compound cursor as a filter.
          filterGroups: [
            { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: t }] },
            {
              filters: [
                { propertyName: 'lastmodifieddate', operator: 'EQ', value: t },
                { propertyName: 'hs_object_id', operator: 'GT', value: c.id },
              ],
            },
          ],
          sorts: ['lastmodifieddate', 'hs_object_id'],
          properties: CONTACT_PROPERTIES,
          limit,
        },
        options.signal,
      );
      // Guard for a search that orders ties loosely: never go back past the cursor.
      const fresh = page.results.filter((o) => after(modifiedMs(o), o.id, c));
      if (fresh.length === 0) return;
      const last = fresh[fresh.length - 1];
      c = { ...c, t: modifiedMs(last), id: last.id };
      // Everything modified up to `settled` was in this answer's index; past it, a record may still be missing.
      const settled = vendorTimeAt(page.serverTime, askedAt) - lagMs;
      if (ceiling === undefined && c.t > settled) ceiling = settled;
      handed = later(handed, ceiling === undefined ? c : { ...c, t: ceiling, id: '0' });
      yield { records: fresh.map(toVendorRecord), next: handed };
      if (!page.next && page.results.length < limit) return;
    }
  }

  /** Archived contacts (HubSpot's deletions) archived after the watermark, from the list with archived=true. */
  private async *deletionSweep(
    client: HubSpotClient,
    from: Cursor,
    options: ReadOptions,
  ): AsyncIterable<ReadPage> {
    let c: Cursor =
      from.phase === 'del'
        ? from
        : { ...from, phase: 'del', after: undefined, dmax: undefined, ds: undefined };
    for (;;) {
      options.signal?.throwIfAborted();
      const askedAt = Date.now();
      const page = await client.getPage({
        limit: LIST_PAGE_MAX,
        after: c.after,
        properties: ['hs_object_id'],
        archived: true,
        signal: options.signal,
      });
      // The sweep's first page fixes what it covers: everything archived before HubSpot's clock at that answer.
      // A sweep resumed from a cursor written before `ds` existed covers only what the old watermark did.
      const ds = c.ds ?? (c.after === undefined ? vendorTimeAt(page.serverTime, askedAt) - 1 : c.dt);
      const deleted: string[] = [];
      for (const o of page.results) {
        const at = o.archivedAt ? Date.parse(o.archivedAt) : NaN;
        if (Number.isFinite(at) && at > c.dt) deleted.push(o.id);
      }
      if (page.next) {
        c = { ...c, after: page.next, dmax: undefined, ds };
        if (deleted.length > 0) yield { records: [], deleted, cursor: encode(c) };
        continue;
      }
      const done: Cursor = { v: 1, phase: 'inc', t: c.t, id: c.id, dt: Math.max(c.dt, ds) };
      yield { records: [], deleted, cursor: encode(done) };
      return;
    }
  }

  /**
   * Matches a batch answer to its inputs: results by id or email; errors by the ids HubSpot names in their context,
   * then, for errors naming none (validation errors do not), in input order, which is the order HubSpot reports them.
   */
  private settle(
    outcomes: Map<string, WriteOutcome>,
    inputs: { key: string; match: string }[],
    res: HsBatchResult | ConnectorError,
    matchOf: (o: HsObject) => string,
    statusOf: (o: HsObject) => WriteStatus,
  ): void {
    if (res instanceof ConnectorError) {
      for (const i of inputs)
        outcomes.set(i.key, { key: i.key, status: WriteStatus.Failed, error: errorOf(res) });
      return;
    }
    const byMatch = new Map(res.results.map((o) => [matchOf(o), o]));
    const pending: { key: string; match: string }[] = [];
    for (const i of inputs) {
      const o = byMatch.get(i.match.toLowerCase()) ?? byMatch.get(i.match);
      if (o) outcomes.set(i.key, { key: i.key, status: statusOf(o), externalId: o.id });
      else pending.push(i);
    }
    const unnamed: HubSpotBatchError[] = [];
    const named = new Map<string, HubSpotBatchError>();
    for (const err of res.errors) {
      const ids = err.context?.ids ?? [];
      if (ids.length === 0) unnamed.push(err);
      for (const id of ids) named.set(id.toLowerCase(), err);
    }
    for (const i of pending) {
      const err = named.get(i.match.toLowerCase()) ?? unnamed.shift();
      outcomes.set(i.key, {
        key: i.key,
        status: WriteStatus.Failed,
        error: err
          ? {
              code: batchErrorCode(err),
              message: err.message ?? 'rejected by HubSpot',
              vendorCode: batchErrorVendorCode(err),
            }
          : {
              code: ConnectorErrorCode.Permanent,
              message: 'HubSpot returned neither a result nor an error for this record',
            },
      });
    }
  }

  /** A chunk's request failing as a whole fails its records; only bad credentials stop the whole batch. */
  private async guard(fn: () => Promise<HsBatchResult>): Promise<HsBatchResult | ConnectorError> {
    try {
      return await fn();
    } catch (e) {
      return this.nonAuth(e);
    }
  }

  private nonAuth(e: unknown): ConnectorError {
    if (!(e instanceof ConnectorError) || e.code === ConnectorErrorCode.Auth) throw e;
    return e;
  }

  private requireObject(object: string): void {
    if (object !== 'contacts')
      throw new ConnectorError(
        ConnectorErrorCode.Permanent,
        `the HubSpot connector handles contacts, not ${object}`,
      );
  }

  /** One SDK client per connection, rebuilt when its credentials or budget change. */
  private client(connection: ConnectionContext): HubSpotClient {
    const accessToken = connection.credentials.accessToken;
    if (!accessToken)
      throw new ConnectorError(ConnectorErrorCode.Auth, 'HubSpot connection has no accessToken');
    const basePath = connection.baseUrl ?? connection.credentials.basePath;
    const budget = this.budget(connection);
    const fingerprint = JSON.stringify([accessToken, basePath, budget]);
    const cached = this.clients.get(connection.id);
    if (cached?.fingerprint === fingerprint) return cached.client;
    const client = new HubSpotClient({
      accessToken,
      basePath,
      limiter: this.limiter,
      // HubSpot limits per token, so connections sharing a token share a budget; the key never holds the token.
      limiterKey: `hubspot:${createHash('sha256').update(accessToken).digest('hex').slice(0, 16)}`,
      budget: { requests: budget.requests, perMs: budget.perMs + WINDOW_MARGIN_MS },
    });
    this.clients.set(connection.id, { fingerprint, client });
    return client;
  }

  /** Portals on higher tiers get more than the default; `settings.rateBudget` says so per connection. */
  private budget(connection: ConnectionContext): RateBudget {
    const s = connection.settings.rateBudget as Partial<RateBudget> | undefined;
    const d = HUBSPOT_MANIFEST.limits.rateBudget as RateBudget;
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;
    return { requests: ok(s?.requests) ? s.requests : d.requests, perMs: ok(s?.perMs) ? s.perMs : d.perMs };
  }
}

/** A connection setting in seconds, as ms; absent or not a number >= 0: the default. */
function settingMs(connection: ConnectionContext, name: string, fallbackMs: number): number {
  const s = connection.settings[name];
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s * 1000 : fallbackMs;
}

/** HubSpot takes every property value as text; null clears the property. */
function toProperties(record: Record<string, unknown>): Record<string, string> {
  const src = (record.properties ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    out[k] = v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

/** Chunks of at most `size` in which no key repeats; a repeated key waits for a later chunk. */
function chunkDistinct<T>(items: T[], keyOf: (t: T) => string, size: number): T[][] {
  const chunks: { items: T[]; keys: Set<string> }[] = [];
  for (const item of items) {
    const key = keyOf(item);
    let target = chunks.find((c) => c.items.length < size && !c.keys.has(key));
    if (!target) chunks.push((target = { items: [], keys: new Set() }));
    target.items.push(item);
    target.keys.add(key);
  }
  return chunks.map((c) => c.items);
}
