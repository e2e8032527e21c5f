// __Name__ contacts. Reads page by keyset over (updated_at, id), so records sharing one timestamp across a page
// boundary are neither skipped nor read twice; the same cursor serves full and incremental reads. Writes are batch
// upserts (by id, else by email) with per-record outcomes; deletes are batch deletes. Errors are translated in
// the client; this class never retries.
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
  ReadMode,
  type ReadOptions,
  type ReadPage,
  SynclineConnector,
  type VendorRecord,
  type WriteItem,
  type WriteOutcome,
  WriteStatus,
} from '../../src/connectors';
import { __Class__Client, type __Class__Contact } from './__id__.client';
import { recordErrorCode } from './__id__.errors';
import { __Class__WebhookHandler } from './__id__.webhooks';

/** What the vendor allows per request; the manifest's maxBatchSize is what the engine hands us at once. */
export const BATCH_LIMIT = 100;
export const PAGE_MAX = 100;
const OBJECT = 'contacts';
const EPOCH = '1970-01-01T00:00:00.000Z';

export const __CONST___MANIFEST: ConnectorManifest = {
  id: '__id__',
  version: '0.1.0',
  displayName: '__Name__',
  kind: ConnectorKind.Crm,
  objects: [OBJECT],
  capabilities: [
    ConnectorCapability.FullRead,
    ConnectorCapability.IncrementalRead,
    ConnectorCapability.BatchWrite,
    ConnectorCapability.Delete,
    ConnectorCapability.Webhooks,
  ],
  limits: { maxBatchSize: BATCH_LIMIT, rateBudget: { requests: 100, perMs: 1_000 } },
};

/** Read position: the last (updated_at, id) returned; `full` while a full read is under way (so it resumes as one). */
interface Cursor {
  v: 1;
  phase: 'full' | 'inc';
  t: string;
  id: string;
}

const encode = (c: Cursor): string => JSON.stringify(c);

function decode(raw: string | null): Cursor | null {
  if (raw === null) return null;
  try {
    const c = JSON.parse(raw) as Partial<Cursor>;
    if (
      c.v === 1 &&
      (c.phase === 'full' || c.phase === 'inc') &&
      typeof c.t === 'string' &&
      typeof c.id === 'string'
    )
      return c as Cursor;
  } catch {
    // fall through to the error below
  }
  throw new ConnectorError(ConnectorErrorCode.Permanent, `not a __Name__ cursor: ${raw.slice(0, 80)}`);
}

function toVendorRecord(c: __Class__Contact): VendorRecord {
  return { id: c.id, data: { ...c }, modifiedAt: c.updated_at };
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
@SynclineConnector(__CONST___MANIFEST)
export class __Class__Connector implements Connector {
  readonly manifest = __CONST___MANIFEST;
  readonly webhooks = new __Class__WebhookHandler();
  private readonly clients = new Map<string, { fingerprint: string; client: __Class__Client }>();

  constructor(private readonly limiter: RateLimiter) {}

  async check(connection: ConnectionContext): Promise<void> {
    await this.client(connection).me();
  }

  async *read(
    connection: ConnectionContext,
    object: string,
    rawCursor: string | null,
    options: ReadOptions,
  ): AsyncIterable<ReadPage> {
    this.requireObject(object);
    const client = this.client(connection);
    const given = decode(rawCursor);
    const full = options.mode === ReadMode.Full;
    // A full read resumes its own cursor; asked to read fully from an incremental cursor, it starts over.
    let c: Cursor =
      given && (!full || given.phase === 'full') ? given : { v: 1, phase: 'inc', t: EPOCH, id: '' };
    const limit = Math.min(options.pageSize ?? PAGE_MAX, PAGE_MAX);
    for (;;) {
      options.signal?.throwIfAborted();
      // Deletions only matter to incremental reads: a full read already omits deleted records.
      const page = await client.list(
        { limit, afterTs: c.t, afterId: c.id, includeDeleted: !full },
        options.signal,
      );
      const records: VendorRecord[] = [];
      const deleted: string[] = [];
      for (const r of page.results) {
        if ('deleted' in r && r.deleted) deleted.push(r.id);
        else records.push(toVendorRecord(r as __Class__Contact));
      }
      const last = page.results[page.results.length - 1];
      if (last) c = { ...c, t: last.updated_at, id: last.id };
      // The last page of a full read hands over an incremental cursor at the newest record it saw.
      c = { ...c, phase: full && page.has_more ? 'full' : 'inc' };
      yield { records, deleted, cursor: encode(c) };
      if (!page.has_more) return;
    }
  }

  async readByIds(connection: ConnectionContext, object: string, ids: string[]): Promise<VendorRecord[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const out: VendorRecord[] = [];
    for (const part of chunk([...new Set(ids)], BATCH_LIMIT)) {
      out.push(...(await client.batchRead(part)).results.map(toVendorRecord));
    }
    return out;
  }

  async write(connection: ConnectionContext, object: string, batch: WriteItem[]): Promise<WriteOutcome[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const perRequest = Math.min(
      Number(connection.settings.maxPerRequest ?? BATCH_LIMIT) || BATCH_LIMIT,
      BATCH_LIMIT,
    );
    const outcomes: WriteOutcome[] = [];
    for (const part of chunk(batch, perRequest)) {
      const inputs = part.map((item) => ({
        ...item.record,
        ...(item.externalId ? { id: item.externalId } : {}),
      }));
      let results;
      try {
        results = (await client.batchUpsert(inputs)).results;
      } catch (e) {
        // Bad credentials stop the whole batch; any other failed request fails just this chunk's records.
        if (!(e instanceof ConnectorError) || e.code === ConnectorErrorCode.Auth) throw e;
        outcomes.push(
          ...part.map((item) => ({ key: item.key, status: WriteStatus.Failed, error: errorOf(e) })),
        );
        continue;
      }
      const byIndex = new Map(results.map((r) => [r.index, r]));
      part.forEach((item, i) => outcomes.push(outcomeOf(item, byIndex.get(i))));
    }
    return outcomes;
  }

  async delete(
    connection: ConnectionContext,
    object: string,
    externalIds: string[],
  ): Promise<DeleteOutcome[]> {
    this.requireObject(object);
    const client = this.client(connection);
    const byId = new Map<string, DeleteOutcome>();
    for (const part of chunk([...new Set(externalIds)], BATCH_LIMIT)) {
      try {
        const { results } = await client.batchDelete(part);
        const status = new Map(results.map((r) => [r.id, r.status]));
        for (const id of part)
          byId.set(id, { externalId: id, status: status.get(id) === 'deleted' ? 'deleted' : 'not-found' });
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.code === ConnectorErrorCode.Auth) throw e;
        for (const id of part) byId.set(id, { externalId: id, status: 'failed', error: errorOf(e) });
      }
    }
    return externalIds.map((id) => byId.get(id) as DeleteOutcome);
  }

  private requireObject(object: string): void {
    if (object !== OBJECT)
      throw new ConnectorError(
        ConnectorErrorCode.Permanent,
        `the __Name__ connector handles ${OBJECT}, not ${object}`,
      );
  }

  /** One client per connection, rebuilt when its credentials or budget change. */
  private client(connection: ConnectionContext): __Class__Client {
    const apiKey = connection.credentials.apiKey;
    if (!apiKey) throw new ConnectorError(ConnectorErrorCode.Auth, '__Name__ connection has no apiKey');
    const baseUrl = connection.baseUrl ?? connection.credentials.baseUrl;
    if (!baseUrl)
      throw new ConnectorError(ConnectorErrorCode.Permanent, '__Name__ connection has no baseUrl');
    const budget = this.budget(connection);
    const fingerprint = JSON.stringify([apiKey, baseUrl, budget]);
    const cached = this.clients.get(connection.id);
    if (cached?.fingerprint === fingerprint) return cached.client;
    const client = new __Class__Client({
      baseUrl,
      apiKey,
      limiter: this.limiter,
      // The vendor limits per key, so connections sharing a key share a budget; the limiter key never holds it.
      limiterKey: `__id__:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`,
      budget,
    });
    this.clients.set(connection.id, { fingerprint, client });
    return client;
  }

  /** Accounts with a larger allowance say so per connection in `settings.rateBudget`. */
  private budget(connection: ConnectionContext): RateBudget {
    const s = connection.settings.rateBudget as Partial<RateBudget> | undefined;
    const d = __CONST___MANIFEST.limits.rateBudget as RateBudget;
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;
    return { requests: ok(s?.requests) ? s.requests : d.requests, perMs: ok(s?.perMs) ? s.perMs : d.perMs };
  }
}

function outcomeOf(
  item: WriteItem,
  r: { status: string; id?: string; error?: { code: string; message: string } } | undefined,
): WriteOutcome {
  if (!r) {
    return {
      key: item.key,
      status: WriteStatus.Failed,
      error: { code: ConnectorErrorCode.Permanent, message: '__Name__ returned no result for this record' },
    };
  }
  if (r.status === 'error' || !r.id) {
    return {
      key: item.key,
      status: WriteStatus.Failed,
      error: {
        code: recordErrorCode(r.error?.code),
        message: r.error?.message ?? 'rejected by __Name__',
        vendorCode: r.error?.code,
      },
    };
  }
  const status =
    r.status === 'created'
      ? WriteStatus.Created
      : r.status === 'unchanged'
        ? WriteStatus.Unchanged
        : WriteStatus.Updated;
  return { key: item.key, status, externalId: r.id };
}
