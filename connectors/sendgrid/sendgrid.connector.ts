// SendGrid Marketing contacts connector: upserts through the asynchronous import job, reads through SGQL
// search keyset paging, deletes through the delete job, and the signed Event Webhook (sendgrid.webhooks.ts).
import { Injectable } from '@nestjs/common';
import {
  ConnectorCapability,
  ConnectorError,
  ConnectorErrorCode,
  ConnectorKind,
  RateLimiter,
  ReadMode,
  SynclineConnector,
  WriteStatus,
  type ConnectionContext,
  type Connector,
  type ConnectorManifest,
  type DeleteOutcome,
  type RateBudget,
  type ReadOptions,
  type ReadPage,
  type VendorRecord,
  type WriteItem,
  type WriteOutcome,
  vendorTimeAt,
  dateHeaderMs,
  vendorAccountKey,
} from '../../src/connectors';
import {
  SendGridClient,
  SendGridApiError,
  type SendGridRequest,
  type SendGridResponse,
} from './sendgrid.client';
import {
  DEFAULT_RETRY_AFTER_MS,
  errorItems,
  malformedResponse,
  recordErrors,
  translateError,
} from './sendgrid.errors';
import { SendGridWebhooks } from './sendgrid.webhooks';

/**
 * SendGrid publishes no per-endpoint numbers (they vary by plan and come back in X-RateLimit-*); 600
 * requests/minute/user is its documented default, and the sandbox's. One budget for all endpoints keeps us
 * under every per-endpoint bucket.
 */
/** First wait before polling an import job again; doubles up to the connection's jobPollIntervalMs. */
const FIRST_POLL_MS = 50;
export const RATE_BUDGET: RateBudget = { requests: 600, perMs: 60_000 };

/**
 * `Delete` is the write side: `delete()` removes contacts at SendGrid. Reads never report deletions (every page's
 * `deleted` is empty): SendGrid's search never returns deleted contacts, no endpoint lists them, and the Event
 * Webhook carries deliverability events, not contact deletions. A contact deleted at SendGrid therefore stays in
 * Syncline, and a mirror sync with SendGrid as its source does not propagate the deletion.
 */
export const MANIFEST: ConnectorManifest = {
  id: 'sendgrid',
  version: '1.0.0',
  displayName: 'SendGrid Marketing',
  kind: ConnectorKind.Esp,
  objects: ['contacts'],
  capabilities: [
    ConnectorCapability.FullRead,
    ConnectorCapability.IncrementalRead,
    ConnectorCapability.BatchWrite,
    ConnectorCapability.Delete,
    ConnectorCapability.Webhooks,
  ],
  limits: { maxBatchSize: 1000, rateBudget: RATE_BUDGET },
};

export const MAX_CONTACTS_PER_REQUEST = 30_000;
/** "6MB" in SendGrid's docs, read as 6 MiB of request body. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
/** SendGrid's search returns at most 50 contacts per query. */
export const SEARCH_PAGE_MAX = 50;
/**
 * SendGrid documents that new and updated contacts can take minutes to become searchable. A search answer is
 * taken to hold every contact updated more than this before SendGrid's clock at the answer (its Date header); a
 * cursor never goes past that point, so what the index had not taken yet is read next time (re-reads are no-ops
 * for the engine). Ten minutes: generous against "minutes", and an incremental run then re-reads only the last
 * ten minutes of changes. `searchLagMs` overrides.
 */
export const DEFAULT_SEARCH_LAG_MS = 10 * 60_000;
/** A contact created this long before our write started was there already (allows for clock skew with SendGrid). */
const CLOCK_SKEW_MS = 60_000;
const LOOKUP_MAX = 100; // search/emails and contacts/batch take at most 100 each
/** An import error for a contact whose identifiers (email, external id) point at two different contacts. */
const IDENTIFIER_CONFLICT = /match(es)? more than one (existing )?contact/i;
const DELETE_IDS_PER_REQUEST = 100; // ids travel in the query string; keep URLs well under proxies' limits

interface SgContact {
  id: string;
  email?: string;
  updated_at?: string;
  [k: string]: unknown;
}

interface JobStatus {
  id: string;
  status: 'pending' | 'completed' | 'errored' | 'failed';
  results?: {
    requested_count?: number;
    created_count?: number;
    updated_count?: number;
    deleted_count?: number;
    errored_count?: number;
    errors_url?: string;
  };
}

interface FieldDef {
  id: string;
  name: string;
  field_type: string;
}

/** Settings a connection may carry; all optional. */
export interface SendGridSettings {
  listIds?: string[];
  createCustomFields?: boolean;
  /** Lower chunk limits (tests, or accounts with smaller limits); capped at SendGrid's. */
  maxContactsPerRequest?: number;
  maxRequestBytes?: number;
  /** Longest wait between import job status calls (default 1 s); waits start at 50 ms and double up to it. */
  jobPollIntervalMs?: number;
  jobTimeoutMs?: number;
  /** Incremental reads start this far before the stored cursor; re-reads are idempotent. */
  lookBackMs?: number;
  /** How far search may trail writes (default DEFAULT_SEARCH_LAG_MS): cursors stop that far before SendGrid's clock. */
  searchLagMs?: number;
}

// ---- chunking (pure, unit-tested) --------------------------------------------------------------------------

export interface ChunkLimits {
  maxCount: number;
  maxBytes: number;
  /** Bytes of the body around the contacts array ({"list_ids":[…],"contacts":[]}). */
  envelopeBytes: number;
}

/** Greedy, order-preserving split under both limits; items that alone exceed maxBytes come back as oversize. */
export function chunkBySizeAndCount<T>(
  items: T[],
  size: (item: T) => number,
  limits: ChunkLimits,
): { chunks: T[][]; oversize: T[] } {
  const chunks: T[][] = [];
  const oversize: T[] = [];
  let current: T[] = [];
  let bytes = limits.envelopeBytes;
  for (const item of items) {
    const n = size(item);
    if (limits.envelopeBytes + n > limits.maxBytes) {
      oversize.push(item);
      continue;
    }
    const extra = current.length ? n + 1 : n; // a comma between array elements
    if (current.length >= limits.maxCount || bytes + extra > limits.maxBytes) {
      chunks.push(current);
      current = [];
      bytes = limits.envelopeBytes;
    }
    bytes += current.length ? n + 1 : n;
    current.push(item);
  }
  if (current.length) chunks.push(current);
  return { chunks, oversize };
}

export function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

/** Parses the errors_url CSV (header row; quoted cells with doubled quotes) into index -> message. */
export function parseErrorsCsv(csv: string): Map<number, string> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < csv.length; i++) {
    const ch = csv[i];
    if (quoted) {
      if (ch === '"' && csv[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && csv[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) rows.push([...row, cell]);
  const out = new Map<number, string>();
  const [head, ...body] = rows;
  if (!head) return out;
  const cols = head.map((h) => h.trim().toLowerCase());
  const iIndex = cols.indexOf('index');
  const iError = cols.findIndex((c) => c === 'error' || c === 'errors' || c === 'message');
  for (const r of body) {
    const idx = Number(r[iIndex]);
    if (iIndex < 0 || !Number.isInteger(idx)) continue;
    out.set(idx, (iError >= 0 ? r[iError] : '') || 'rejected by SendGrid');
  }
  return out;
}

// ---- connector ---------------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sgqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const looksLikeEmail = (s: string): boolean => s.includes('@');
/** Only for choosing which emails to look up; SendGrid alone judges what it accepts. */
const PLAUSIBLE_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface Prepared {
  index: number;
  contact: Record<string, unknown>;
  email?: string;
}

@SynclineConnector(MANIFEST)
@Injectable()
export class SendGridConnector implements Connector {
  readonly manifest = MANIFEST;
  readonly webhooks = new SendGridWebhooks();
  private readonly clients = new Map<string, { fingerprint: string; client: SendGridClient }>();
  private readonly fieldCache = new Map<string, Promise<Map<string, FieldDef>>>();

  constructor(private readonly limiter: RateLimiter) {}

  async check(connection: ConnectionContext): Promise<void> {
    await this.call(connection, { method: 'GET', url: '/v3/marketing/contacts/count' }, 'check');
  }

  /** An API key belongs to one account (or subuser); its rate limits and contacts are that account's. */
  accountKey(connection: ConnectionContext): string {
    return vendorAccountKey('sendgrid', connection.baseUrl, connection.credentials.apiKey);
  }

  // ---- read ------------------------------------------------------------------------------------------------

  /**
   * Keyset reads over SGQL search in (updated_at, contact_id) order, in windows SendGrid answers whole.
   *
   * Search returns at most 50 matches and SGQL has no ORDER BY: which 50 is not said. So an answer is used only
   * when it holds every match of its window (fewer than 50, or contact_count no more than it returned); otherwise
   * the window is narrowed (to the largest key returned, then by halving its time span, then, within one
   * millisecond, by contact_id) and asked again. Each window is read from the last one's end, so memory stays
   * at one answer. An answer of the oldest 50 (as the sandbox gives by default) costs one search more per 50.
   *
   * Search also trails writes by minutes: a contact updated just before a query may be missing from its answer
   * while later ones are there. The cursor handed out stops at the first answer's settled point (SendGrid's
   * clock at that answer, less `searchLagMs`) that the read went past; what is after it is read again next time.
   * Paging inside one read still moves on by the exact key. The same cursor serves full and incremental reads;
   * incremental may start `lookBackMs` early (the handed-out cursor never goes back).
   *
   * Deletions are not reported (see MANIFEST): search never returns deleted contacts.
   */
  async *read(
    connection: ConnectionContext,
    object: string,
    cursor: string | null,
    options: ReadOptions,
  ): AsyncIterable<ReadPage> {
    this.assertObject(object);
    const pageSize = Math.max(1, Math.min(options.pageSize ?? SEARCH_PAGE_MAX, SEARCH_PAGE_MAX));
    const settings = this.settings(connection);
    const lagMs = msSetting(settings.searchLagMs, DEFAULT_SEARCH_LAG_MS);
    const lookBack = msSetting(settings.lookBackMs, 0);
    const start = decodeCursor(cursor);
    // The read position: every contact at or before it was read (exclusive lower bound of the next window).
    let lo: Keyset | undefined =
      start && options.mode === ReadMode.Incremental && lookBack > 0
        ? { t: start.t - lookBack, id: '' }
        : start;
    let handed = start;
    let ceiling: Keyset | undefined;
    // The window's upper bound (undefined: open) and whether it was narrowed to an answer's largest key yet.
    let hi: Upper | undefined;
    let triedLargest = false;
    let yielded = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const askedAt = Date.now();
      const res = await this.call<{ result?: SgContact[]; contact_count?: number }>(
        connection,
        { method: 'POST', url: '/v3/marketing/contacts/search', body: { query: windowQuery(lo, hi) } },
        'search contacts',
      );
      const result = res.body?.result;
      if (!Array.isArray(result)) throw malformedResponse('search contacts', res.body);
      const hits = result
        .filter((c) => typeof c?.id === 'string' && Number.isFinite(Date.parse(String(c.updated_at))))
        .sort(byKeyset);
      const count = res.body.contact_count;
      const whole = result.length < SEARCH_PAGE_MAX || (typeof count === 'number' && count <= result.length);
      if (!whole) {
        // Some of this window's matches were left out, and not necessarily the latest ones.
        const largest = hits.length ? keyOf(hits[hits.length - 1]) : undefined;
        if (!triedLargest && largest && (!hi || before(largest, hi))) {
          hi = { ...largest, incl: true }; // exact when SendGrid answered the oldest 50
          triedLargest = true;
        } else hi = narrower(lo, hi ?? (largest && { ...largest, incl: true }), hits);
        continue;
      }
      // Everything updated up to `settled` was in this answer's index; past it, a contact may still be missing.
      const settled = vendorTimeAt(dateHeaderMs(res.headers), askedAt) - lagMs;
      for (let i = 0; i < hits.length; i += pageSize) {
        const page = hits.slice(i, i + pageSize);
        const pos = keyOf(page[page.length - 1]);
        if (!ceiling && pos.t > settled) ceiling = { t: settled, id: '' };
        const next = ceiling ?? pos;
        if (!handed || before(handed, next)) handed = next;
        yielded = true;
        const names = await this.fieldNamesById(connection);
        yield {
          records: page.map((c) => toVendorRecord(c, names)),
          deleted: [],
          cursor: encodeCursor(handed),
        };
      }
      if (!hi) break; // an open window answered whole: nothing more to read
      lo = hi.incl ? { t: hi.t, id: hi.id } : { t: hi.t, id: '' };
      // The read moves past the whole window, not only its last contact: past `settled`, one may be missing.
      if (!ceiling && lo.t > settled) ceiling = { t: settled, id: '' };
      hi = undefined;
      triedLargest = false;
    }
    if (!yielded) yield { records: [], deleted: [], cursor }; // nothing new: keep the caller's cursor
  }

  async readByIds(connection: ConnectionContext, object: string, ids: string[]): Promise<VendorRecord[]> {
    this.assertObject(object);
    const emails = ids.filter(looksLikeEmail);
    const contactIds = ids.filter((id) => !looksLikeEmail(id));
    const out: VendorRecord[] = [];
    const names = await this.fieldNamesById(connection);
    for (let i = 0; i < contactIds.length; i += LOOKUP_MAX) {
      const found = await this.batchGet(connection, contactIds.slice(i, i + LOOKUP_MAX));
      for (const c of found.values()) out.push(toVendorRecord(c, names));
    }
    // Emails (reconciliation by identity key) go through search/emails.
    const byEmail = await this.lookupEmails(connection, emails);
    for (const c of byEmail.values()) out.push(toVendorRecord(c, names));
    return out;
  }

  // ---- write -----------------------------------------------------------------------------------------------

  async write(connection: ConnectionContext, object: string, batch: WriteItem[]): Promise<WriteOutcome[]> {
    this.assertObject(object);
    const settings = this.settings(connection);
    const outcomes: (WriteOutcome | undefined)[] = new Array(batch.length);
    const fail = (i: number, code: ConnectorErrorCode, message: string, retryAfterMs?: number): void => {
      outcomes[i] = {
        key: batch[i].key,
        status: WriteStatus.Failed,
        ...(batch[i].externalId ? { externalId: batch[i].externalId } : {}),
        error: { code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
      };
    };

    const prepared = await this.prepare(connection, batch, fail);
    if (!prepared.length) return outcomes as WriteOutcome[];

    // Created vs updated is read from the contacts' created_at after the job (the job only reports counts): a
    // lookup before the write too would double the search calls, and search is what SendGrid's rate budget
    // (600 requests a minute) spends most on in a large first sync.
    const writeStart = Date.now();

    const listIds = settings.listIds?.length ? settings.listIds : undefined;
    const envelope = jsonBytes(listIds ? { list_ids: listIds, contacts: [] } : { contacts: [] });
    const { chunks, oversize } = chunkBySizeAndCount(prepared, (p) => jsonBytes(p.contact), {
      maxCount: Math.min(
        Number(settings.maxContactsPerRequest ?? MAX_CONTACTS_PER_REQUEST),
        MAX_CONTACTS_PER_REQUEST,
      ),
      maxBytes: Math.min(Number(settings.maxRequestBytes ?? MAX_REQUEST_BYTES), MAX_REQUEST_BYTES),
      envelopeBytes: envelope,
    });
    for (const p of oversize)
      fail(p.index, ConnectorErrorCode.InvalidData, 'contact alone exceeds the 6 MB request limit');

    const succeeded: Prepared[] = [];
    let written = false;
    let idsInDoubt = false;
    for (let c = 0; c < chunks.length; c++) {
      try {
        const { ok, created } = await this.upsertChunk(connection, chunks[c], listIds, fail);
        written = true;
        succeeded.push(...ok);
        // More contacts created than we had no id for: some known id no longer matched (deleted at SendGrid, or a
        // merged-away record's contact), so every id of this batch is looked up again.
        if (created > ok.filter((p) => !batch[p.index].externalId).length) idsInDoubt = true;
      } catch (e) {
        const err = translateError(e, 'upsert contacts');
        // Nothing reached SendGrid yet: fail the call as a whole so the engine retries it cleanly.
        if (!written) throw err;
        // Earlier chunks are in; report the rest per record so their outcomes are not lost.
        for (const rest of chunks.slice(c))
          for (const p of rest)
            if (!outcomes[p.index]) fail(p.index, err.code, err.message, err.retryAfterMs);
        break;
      }
    }

    // New contacts' ids are only known after the job; a failed lookup leaves externalId unset, not the write failed.
    // Contacts we know the id of keep it: the mapping sends our customer id as external_id, one of SendGrid's
    // identifiers, so even a changed email updates the same contact and no lookup is needed.
    let after = new Map<string, SgContact>();
    try {
      after = await this.lookupEmails(
        connection,
        succeeded.flatMap((p) => (p.email && (idsInDoubt || !batch[p.index].externalId) ? [p.email] : [])),
      );
    } catch {
      after = new Map();
    }
    for (const p of succeeded) {
      const item = batch[p.index];
      const found = p.email && (idsInDoubt || !item.externalId) ? after.get(p.email) : undefined;
      const createdAt = typeof found?.created_at === 'string' ? Date.parse(found.created_at) : NaN;
      const existed = found ? !(createdAt >= writeStart - CLOCK_SKEW_MS) : !!item.externalId;
      const externalId = found?.id ?? item.externalId;
      outcomes[p.index] = {
        key: item.key,
        status: existed ? WriteStatus.Updated : WriteStatus.Created,
        ...(externalId ? { externalId } : {}),
      };
    }
    return outcomes.map(
      (o, i) =>
        o ?? {
          key: batch[i].key,
          status: WriteStatus.Failed,
          error: { code: ConnectorErrorCode.Permanent, message: 'no outcome' },
        },
    );
  }

  /** Resolves custom field names to ids and normalises values; records that cannot be sent fail here. */
  private async prepare(
    connection: ConnectionContext,
    batch: WriteItem[],
    fail: (i: number, code: ConnectorErrorCode, message: string) => void,
  ): Promise<Prepared[]> {
    const names = new Set<string>();
    for (const item of batch) {
      const cf = item.record.custom_fields;
      if (cf && typeof cf === 'object' && !Array.isArray(cf)) for (const k of Object.keys(cf)) names.add(k);
    }
    const resolved = names.size
      ? await this.resolveFields(connection, batch, [...names])
      : { ids: new Map<string, string>(), problems: new Map<string, string>() };
    const out: Prepared[] = [];
    batch.forEach((item, index) => {
      const contact: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(item.record)) {
        if (k === 'custom_fields' || v === undefined) continue;
        // SendGrid's reserved fields are strings; '' clears a value, null is rejected.
        contact[k] = v === null ? '' : Array.isArray(v) ? v : typeof v === 'object' ? v : String(v);
      }
      const cf = item.record.custom_fields as Record<string, unknown> | undefined;
      if (cf && typeof cf === 'object') {
        const byId: Record<string, unknown> = {};
        for (const [name, v] of Object.entries(cf)) {
          if (v === undefined) continue;
          const problem = resolved.problems.get(name);
          if (problem) {
            fail(index, ConnectorErrorCode.InvalidData, problem);
            return;
          }
          byId[resolved.ids.get(name)!] = v === null ? '' : v;
        }
        if (Object.keys(byId).length) contact.custom_fields = byId;
      }
      const email = typeof contact.email === 'string' ? contact.email.trim().toLowerCase() : undefined;
      out.push({ index, contact, ...(email ? { email } : {}) });
    });
    return out;
  }

  private async resolveFields(
    connection: ConnectionContext,
    batch: WriteItem[],
    names: string[],
  ): Promise<{ ids: Map<string, string>; problems: Map<string, string> }> {
    const ids = new Map<string, string>();
    const problems = new Map<string, string>();
    let defs = await this.fieldDefinitions(connection);
    const missing = names.filter(
      (n) => !defs.has(n.toLowerCase()) && ![...defs.values()].some((d) => d.id === n),
    );
    if (missing.length && this.settings(connection).createCustomFields === true) {
      for (const name of missing) {
        // Number when every value we are about to write is numeric; Text otherwise (Text accepts anything).
        const values = batch
          .map((b) => (b.record.custom_fields as Record<string, unknown> | undefined)?.[name])
          .filter((v) => v !== undefined && v !== null);
        const fieldType = values.length && values.every((v) => typeof v === 'number') ? 'Number' : 'Text';
        try {
          await this.call(
            connection,
            { method: 'POST', url: '/v3/marketing/field_definitions', body: { name, field_type: fieldType } },
            `create custom field '${name}'`,
          );
        } catch (e) {
          const err = translateError(e);
          if (err.code !== ConnectorErrorCode.InvalidData) throw err;
          // "already exists" means another worker created it; a re-read below settles it. Anything else names why.
          if (!/already exists/i.test(err.message))
            problems.set(name, `custom field '${name}' could not be created: ${err.message}`);
        }
      }
      this.fieldCache.delete(connection.id);
      defs = await this.fieldDefinitions(connection);
    }
    for (const n of names) {
      const d = defs.get(n.toLowerCase()) ?? [...defs.values()].find((x) => x.id === n);
      if (d) ids.set(n, d.id);
      else if (!problems.has(n))
        problems.set(
          n,
          `custom field '${n}' does not exist at SendGrid (settings.createCustomFields is off)`,
        );
    }
    return { ids, problems };
  }

  /** Custom field id -> name, so records read back carry custom_fields by name, as mappings address them. */
  private async fieldNamesById(connection: ConnectionContext): Promise<Map<string, string>> {
    const defs = await this.fieldDefinitions(connection);
    return new Map([...defs.values()].map((f) => [f.id, f.name]));
  }

  private fieldDefinitions(connection: ConnectionContext): Promise<Map<string, FieldDef>> {
    let p = this.fieldCache.get(connection.id);
    if (!p) {
      p = this.call<{ custom_fields?: FieldDef[] }>(
        connection,
        { method: 'GET', url: '/v3/marketing/field_definitions' },
        'field definitions',
      ).then((r) => {
        if (!Array.isArray(r.body?.custom_fields)) throw malformedResponse('field definitions', r.body);
        return new Map(r.body.custom_fields.map((f) => [f.name.toLowerCase(), f]));
      });
      // A failed load must not stay cached.
      p.catch(() => this.fieldCache.delete(connection.id));
      this.fieldCache.set(connection.id, p);
    }
    return p;
  }

  /** One PUT and its job. Returns the records SendGrid accepted; rejected ones are failed through `fail`. */
  private async upsertChunk(
    connection: ConnectionContext,
    chunk: Prepared[],
    listIds: string[] | undefined,
    fail: (i: number, code: ConnectorErrorCode, message: string) => void,
  ): Promise<{ ok: Prepared[]; created: number }> {
    let entries = chunk;
    let jobId: string | undefined;
    // A 400 naming contacts[i] rejects the whole request; those records fail and the rest are sent once more.
    for (let attempt = 0; attempt < 2 && !jobId; attempt++) {
      try {
        const body = { ...(listIds ? { list_ids: listIds } : {}), contacts: entries.map((e) => e.contact) };
        const res = await this.call<{ job_id?: string }>(
          connection,
          { method: 'PUT', url: '/v3/marketing/contacts', body },
          'upsert contacts',
        );
        if (typeof res.body?.job_id !== 'string') throw malformedResponse('upsert contacts', res.body);
        jobId = res.body.job_id;
      } catch (e) {
        const cause = e instanceof ConnectorError ? e.details.cause : undefined;
        const perRecord =
          cause instanceof SendGridApiError && cause.status === 400
            ? recordErrors(cause.body)
            : new Map<number, string>();
        if (attempt > 0 || perRecord.size === 0) throw e;
        for (const [i, msg] of perRecord)
          if (entries[i]) fail(entries[i].index, ConnectorErrorCode.InvalidData, msg);
        entries = entries.filter((_, i) => !perRecord.has(i));
        if (!entries.length) return { ok: [], created: 0 };
      }
    }
    if (!jobId) return { ok: [], created: 0 };
    const job = await this.followJob(connection, jobId);
    const errored = job.results?.errored_count ?? 0;
    let rejected = new Map<number, string>();
    if (errored > 0 || job.status === 'failed') {
      if (job.results?.errors_url) {
        rejected = parseErrorsCsv(await this.download(connection, job.results.errors_url));
      }
      if (rejected.size === 0) {
        // Errors we cannot attribute: failing all is the only honest answer; upserts are idempotent on retry.
        for (const e of entries)
          fail(
            e.index,
            ConnectorErrorCode.Permanent,
            `import job ${jobId} ${job.status} with ${errored} unattributed errors`,
          );
        return { ok: [], created: 0 };
      }
    }
    const ok: Prepared[] = [];
    entries.forEach((e, i) => {
      const msg = rejected.get(i);
      if (msg === undefined) ok.push(e);
      else {
        if (/custom_fields/.test(msg)) this.fieldCache.delete(connection.id); // a field vanished under us
        // One contact has the email, another the external id: a conflict a pending write usually resolves (the
        // other record deleted, or its email changed, by a batch still in flight), so it is retried, then dead-lettered.
        const conflict = IDENTIFIER_CONFLICT.test(msg);
        fail(e.index, conflict ? ConnectorErrorCode.Temporary : ConnectorErrorCode.InvalidData, msg);
      }
    });
    return { ok, created: Number(job.results?.created_count ?? 0) };
  }

  /** Polls the job (upsert or delete) until it leaves "pending", bounded by jobTimeoutMs. */
  private async followJob(connection: ConnectionContext, jobId: string): Promise<JobStatus> {
    const s = this.settings(connection);
    const interval = Math.max(10, Number(s.jobPollIntervalMs ?? 1000));
    const deadline = Date.now() + Math.max(interval, Number(s.jobTimeoutMs ?? 10 * 60_000));
    // A small import finishes in well under a second and a large one takes minutes: the wait doubles from
    // FIRST_POLL_MS up to the interval, so a quick job is not held for a whole interval and a slow one costs
    // a handful of extra status calls, not one per FIRST_POLL_MS.
    let wait = Math.min(FIRST_POLL_MS, interval);
    for (;;) {
      const res = await this.call<JobStatus>(
        connection,
        { method: 'GET', url: `/v3/marketing/contacts/imports/${encodeURIComponent(jobId)}` },
        'job status',
      );
      if (typeof res.body?.status !== 'string') throw malformedResponse('job status', res.body);
      if (res.body.status !== 'pending') return res.body;
      if (Date.now() + interval > deadline) {
        throw new ConnectorError(
          ConnectorErrorCode.Temporary,
          `SendGrid job ${jobId} still pending after the polling limit`,
          { vendorCode: 'job-pending' },
        );
      }
      await sleep(wait);
      wait = Math.min(wait * 2, interval);
    }
  }

  // ---- delete ----------------------------------------------------------------------------------------------

  async delete(
    connection: ConnectionContext,
    object: string,
    externalIds: string[],
  ): Promise<DeleteOutcome[]> {
    this.assertObject(object);
    const status = new Map<string, DeleteOutcome>();
    for (let i = 0; i < externalIds.length; i += DELETE_IDS_PER_REQUEST) {
      const ids = [...new Set(externalIds.slice(i, i + DELETE_IDS_PER_REQUEST))];
      // The job only counts deletions, so existence beforehand is what makes per-id outcomes possible.
      const existing = await this.batchGet(connection, ids);
      for (const id of ids) if (!existing.has(id)) status.set(id, { externalId: id, status: 'not-found' });
      const targets = ids.filter((id) => existing.has(id));
      if (!targets.length) continue;
      try {
        const res = await this.call<{ job_id?: string }>(
          connection,
          { method: 'DELETE', url: '/v3/marketing/contacts', qs: { ids: targets.join(',') } },
          'delete contacts',
        );
        if (typeof res.body?.job_id !== 'string') throw malformedResponse('delete contacts', res.body);
        const job = await this.followJob(connection, res.body.job_id);
        const gone = job.status === 'completed' || (job.results?.deleted_count ?? 0) === targets.length;
        if (gone) {
          for (const id of targets) status.set(id, { externalId: id, status: 'deleted' });
        } else {
          // Partial delete job: ask SendGrid which are still there.
          const still = await this.batchGet(connection, targets);
          for (const id of targets)
            status.set(
              id,
              still.has(id)
                ? {
                    externalId: id,
                    status: 'failed',
                    error: {
                      code: ConnectorErrorCode.Permanent,
                      message: `delete job ${job.id} ${job.status}`,
                    },
                  }
                : { externalId: id, status: 'deleted' },
            );
        }
      } catch (e) {
        if (i === 0) throw translateError(e, 'delete contacts');
        const err = translateError(e, 'delete contacts');
        for (const id of externalIds.slice(i))
          if (!status.has(id))
            status.set(id, {
              externalId: id,
              status: 'failed',
              error: {
                code: err.code,
                message: err.message,
                ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
              },
            });
        break;
      }
    }
    return externalIds.map(
      (id) =>
        status.get(id) ?? {
          externalId: id,
          status: 'failed',
          error: { code: ConnectorErrorCode.Permanent, message: 'no outcome' },
        },
    );
  }

  // ---- lookups ---------------------------------------------------------------------------------------------

  /** POST contacts/batch: id -> contact (404 "no contacts found" is an empty answer, not an error). */
  private async batchGet(connection: ConnectionContext, ids: string[]): Promise<Map<string, SgContact>> {
    const out = new Map<string, SgContact>();
    if (!ids.length) return out;
    try {
      const res = await this.call<{ result?: SgContact[] }>(
        connection,
        { method: 'POST', url: '/v3/marketing/contacts/batch', body: { ids } },
        'get contacts',
      );
      if (!Array.isArray(res.body?.result)) throw malformedResponse('get contacts', res.body);
      for (const c of res.body.result) out.set(c.id, c);
    } catch (e) {
      if (!(e instanceof ConnectorError && e.code === ConnectorErrorCode.NotFound)) throw e;
    }
    return out;
  }

  /** search/emails in groups of 100: lower-cased email -> contact. Unknown emails are simply absent. */
  async lookupEmails(connection: ConnectionContext, emails: string[]): Promise<Map<string, SgContact>> {
    const out = new Map<string, SgContact>();
    const wanted = [
      ...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => PLAUSIBLE_EMAIL.test(e))),
    ];
    for (let i = 0; i < wanted.length; i += LOOKUP_MAX) {
      let group = wanted.slice(i, i + LOOKUP_MAX);
      // SendGrid refuses the whole lookup when one address is invalid; drop the ones it names, ask once more.
      for (let attempt = 0; attempt < 2 && group.length; attempt++) {
        try {
          const res = await this.call<{ result?: Record<string, { contact?: SgContact }> }>(
            connection,
            { method: 'POST', url: '/v3/marketing/contacts/search/emails', body: { emails: group } },
            'search emails',
          );
          for (const [email, r] of Object.entries(res.body?.result ?? {}))
            if (r?.contact?.id) out.set(email.toLowerCase(), r.contact);
          break;
        } catch (e) {
          if (e instanceof ConnectorError && e.code === ConnectorErrorCode.NotFound) break; // none of them exist
          const cause = e instanceof ConnectorError ? e.details.cause : undefined;
          const named =
            cause instanceof SendGridApiError && cause.status === 400
              ? errorItems(cause.body).map((x) =>
                  /invalid email address: (.+)$/i.exec(x.message)?.[1]?.trim().toLowerCase(),
                )
              : [];
          const bad = new Set(named.filter((x): x is string => !!x));
          if (attempt > 0 || bad.size === 0) throw e;
          group = group.filter((g) => !bad.has(g));
        }
      }
    }
    return out;
  }

  // ---- plumbing ----------------------------------------------------------------------------------------------

  /** Every vendor request: budget first, translate failures, and hold all callers of this key on a 429. */
  private async call<T>(
    connection: ConnectionContext,
    req: SendGridRequest,
    what: string,
  ): Promise<SendGridResponse<T>> {
    const key = this.limiterKey(connection);
    await this.limiter.acquire(key, RATE_BUDGET);
    try {
      const res = await this.client(connection).request<T>(req);
      this.learnBudget(key, res.headers);
      return res;
    } catch (e) {
      const err = translateError(e, what);
      if (err.code === ConnectorErrorCode.RateLimited)
        this.limiter.pause(key, Date.now() + (err.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS));
      throw err;
    }
  }

  private async download(connection: ConnectionContext, url: string): Promise<string> {
    try {
      return await this.client(connection).download(url);
    } catch (e) {
      throw translateError(e, 'import errors download');
    }
  }

  private client(connection: ConnectionContext): SendGridClient {
    const apiKey = connection.credentials.apiKey;
    if (!apiKey)
      throw new ConnectorError(
        ConnectorErrorCode.Auth,
        `connection ${connection.id} has no credentials.apiKey`,
      );
    const baseUrl = connection.baseUrl ?? connection.credentials.baseUrl;
    const fingerprint = `${apiKey}\u0000${baseUrl ?? ''}`;
    const cached = this.clients.get(connection.id);
    if (cached && cached.fingerprint === fingerprint) return cached.client;
    // New or rotated credentials: a fresh client, and field ids may differ on another account.
    const client = new SendGridClient({ apiKey, ...(baseUrl ? { baseUrl } : {}) });
    this.clients.set(connection.id, { fingerprint, client });
    if (cached) this.fieldCache.delete(connection.id);
    return client;
  }

  /**
   * SendGrid's limits differ by account and endpoint and every answer states the one that applies
   * (`X-RateLimit-Limit` requests per window, a minute for the contacts endpoints). Until an answer says otherwise
   * the documented 600 a minute is kept; a 429 still holds every caller until its reset. The limiter keeps what
   * was stated for every worker sharing it.
   */
  private learnBudget(key: string, headers: Record<string, string>): void {
    const limit = Number(headers['x-ratelimit-limit']);
    if (!Number.isInteger(limit) || limit <= 0) return;
    this.limiter.learn(key, { requests: limit, perMs: RATE_BUDGET.perMs });
  }

  private limiterKey(connection: ConnectionContext): string {
    return `sendgrid:${connection.id}`;
  }

  private settings(connection: ConnectionContext): SendGridSettings {
    const s = connection.settings as SendGridSettings & { list_ids?: string[] };
    return { ...s, listIds: s.listIds ?? s.list_ids };
  }

  private assertObject(object: string): void {
    if (object !== 'contacts')
      throw new ConnectorError(ConnectorErrorCode.Permanent, `sendgrid has no object "${object}"`);
  }
}

/** A point in (updated_at, contact_id) order: epoch ms and id ('' is before every id at t). */
interface Keyset {
  t: number;
  id: string;
}
/** A window's upper bound: up to and including (t, id), or (incl false, id '') everything before t. */
interface Upper extends Keyset {
  incl: boolean;
}

/** The cursor keeps the form it always had: {"t": ISO 8601, "id"}. */
function encodeCursor(k: Keyset): string {
  return JSON.stringify({ t: new Date(k.t).toISOString(), id: k.id });
}

function decodeCursor(cursor: string | null): Keyset | undefined {
  if (!cursor) return undefined;
  try {
    const k = JSON.parse(cursor) as { t?: unknown; id?: unknown };
    const t = typeof k.t === 'string' ? Date.parse(k.t) : NaN;
    if (Number.isFinite(t) && typeof k.id === 'string') return { t, id: k.id };
  } catch {
    // fall through
  }
  throw new ConnectorError(ConnectorErrorCode.Permanent, `invalid sendgrid cursor ${cursor.slice(0, 100)}`);
}

const keyOf = (c: SgContact): Keyset => ({ t: Date.parse(c.updated_at!), id: c.id });

/** Whether a comes before b in (t, id) order. */
function before(a: Keyset, b: Keyset): boolean {
  return a.t < b.t || (a.t === b.t && a.id < b.id);
}

function byKeyset(a: SgContact, b: SgContact): number {
  const d = Date.parse(a.updated_at!) - Date.parse(b.updated_at!);
  return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const sgqlTime = (t: number): string => `TIMESTAMP ${sgqlString(new Date(t).toISOString())}`;

/** The SGQL for the contacts after `lo` (all of them without one) up to `hi` (no limit without one). */
function windowQuery(lo: Keyset | undefined, hi: Upper | undefined): string {
  const from = lo
    ? `updated_at > ${sgqlTime(lo.t)} OR (updated_at = ${sgqlTime(lo.t)} AND contact_id > ${sgqlString(lo.id)})`
    : `updated_at >= ${sgqlTime(0)}`;
  if (!hi) return from;
  const to = hi.incl
    ? `updated_at < ${sgqlTime(hi.t)} OR (updated_at = ${sgqlTime(hi.t)} AND contact_id <= ${sgqlString(hi.id)})`
    : `updated_at < ${sgqlTime(hi.t)}`;
  return `(${from}) AND (${to})`;
}

/**
 * A smaller window than (lo, hi] for an answer that left matches out: half its time span while it spans more
 * than a millisecond, then, inside one millisecond, up to the middle contact the answer returned. Every step
 * shrinks the span or leaves out at least half of what was returned, so narrowing ends.
 */
function narrower(lo: Keyset | undefined, hi: Upper | undefined, hits: SgContact[]): Upper {
  if (!hi)
    throw new ConnectorError(
      ConnectorErrorCode.Temporary,
      'SendGrid search left matches out of an empty answer',
      { vendorCode: 'search-incomplete' },
    );
  const from = lo ? lo.t : -1;
  const span = hi.incl ? hi.t - from : hi.t - 1 - from; // the last millisecond the window may hold, less `from`
  if (span >= 1) return { t: from + 1 + Math.floor(span / 2), id: '', incl: false };
  // One millisecond left: split it by contact_id at the middle of what was returned.
  const at = hits.filter((c) => Date.parse(c.updated_at!) === from);
  const mid = at[Math.ceil(at.length / 2) - 1];
  if (!mid || at.length < 2)
    throw new ConnectorError(ConnectorErrorCode.Temporary, 'SendGrid search cannot be narrowed further', {
      vendorCode: 'search-incomplete',
    });
  return { t: from, id: mid.id, incl: true };
}

/** A setting in ms: a number >= 0, else the default. */
function msSetting(v: unknown, fallback: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

function toVendorRecord(c: SgContact, fieldNames: Map<string, string>): VendorRecord {
  const { _metadata: _m, ...data } = c;
  const cf = (data as { custom_fields?: Record<string, unknown> }).custom_fields;
  if (cf && typeof cf === 'object') {
    (data as { custom_fields?: Record<string, unknown> }).custom_fields = Object.fromEntries(
      Object.entries(cf).map(([k, v]) => [fieldNames.get(k) ?? k, v]),
    );
  }
  return { id: c.id, data, ...(typeof c.updated_at === 'string' ? { modifiedAt: c.updated_at } : {}) };
}
