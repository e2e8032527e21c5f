// The outbound path: one outbox row per (destination, object, customer), coalesced so a customer changed ten
// times is sent once with its latest state. Drained in batches of the connector's limit; each record's outcome is
// stored; failures retry with exponential back-off and jitter honouring retry-after, then go to the dead-letter
// list with their reason. Consent gates every ESP destination.
import { randomUUID } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { ActorType, AuditEntity, type Actor } from '../audit/audit.types';
import { EmailConsent, EmailDeliverability } from '../canonical/customer.model';
import { Clock } from '../common/clock';
import { contentHash } from '../common/hash';
import { AppConfig } from '../config/app-config';
import { SyncMode, type SyncConfig } from '../config/syncline-config.schema';
import { ConsentService } from '../consent/consent.service';
import { ConsentStatus } from '../consent/consent.types';
import { ConnectorError, ConnectorErrorCode, isConnectorError } from '../connectors/connector-error';
import { ConnectorRegistry } from '../connectors/connector.registry';
import {
  ConnectorKind,
  WriteStatus,
  type ConnectionContext,
  type VendorRecord,
  type Connector,
  type WriteItem,
} from '../connectors/connector.types';
import { mapOutbound } from '../mapping/mapping.engine';
import { MappingRegistry } from '../mapping/mapping.registry';
import type { CompiledMapping } from '../mapping/mapping.types';
import { CustomerRepository, type CustomerRow } from '../store/customer.repository';
import { PiiCodec } from '../privacy/pii-codec';
import { redactText } from '../privacy/redact';
import { Database, type Tx } from '../store/database';
import { ConnectionsService } from './connections.service';
import { writeOutcomes, type OutcomeRow } from './outcome-log';
import { emptyCounts, OutboxOp, OutboxStatus, OutcomeAction, type RunCounts } from './sync.types';

export interface OutboxRow {
  id: number;
  connection: string;
  object: string;
  customer_id: string;
  op: OutboxOp;
  sync_id: string | null;
  customer_version: number;
  attempts: number;
  status: OutboxStatus;
  last_error: string | null;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface DrainOptions {
  runId?: string | null;
  /** Stop after this many batches (tests, bounded jobs); default: until nothing is due. */
  maxBatches?: number;
  /**
   * One drainer per destination across all processes. A run's own drain waits for the lock (so the run ends with
   * its records sent); background drains skip when someone else is already draining.
   */
  waitForLock?: boolean;
  onBatch?: (counts: RunCounts) => void;
}

/** What a drainer pushes to: resolved once per drain, shared by its batches. */
interface PushTarget {
  connectionId: string;
  object: string;
  ctx: ConnectionContext;
  connector: Connector;
  mapping: CompiledMapping;
  esp: boolean;
  /** Customers whose update is in a batch in flight (this drain holds the destination's lock: all of them). */
  sending: Set<string>;
  /** Vendor records this drain deleted (see the write results in pushBatch). */
  deleted: Set<string>;
}

/** The outbox's columns as its multi-row inserts list them. */
export const OUTBOX_COLUMNS = [
  'connection',
  'object',
  'customer_id',
  'op',
  'sync_id',
  'customer_version',
  'status',
  'attempts',
  'next_attempt_at',
  'last_error',
  'created_at',
  'updated_at',
];

/** Strips empty values so "not set" and "set to empty" hash alike on both sides of the echo check. */
export function sentShape(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === null || v === undefined || v === '') continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? sentShape(v as Record<string, unknown>) : v;
  }
  return out;
}

@Injectable()
export class OutboxService {
  private readonly log = new Logger('Outbox');
  readonly retry: RetryPolicy;
  /**
   * Whether a customer queued for duplicate detection waits for it before being pushed. With detection off nobody
   * checks the queue, so customers left in it (queued while detection was on) are pushed as they are; should
   * detection be turned on again, it takes them up where they are.
   */
  private readonly waitsForDetection: boolean;
  /** Drain lock length (SYNCLINE_LEASE_MS, like run leases), renewed every third of it while draining. */
  private readonly lockMs: number;
  /** Outbound batches in flight per drainer (OUTBOX_PUSH_CONCURRENCY). */
  private readonly pushConcurrency: number;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly registry: ConnectorRegistry,
    private readonly mappings: MappingRegistry,
    private readonly customers: CustomerRepository,
    private readonly connections: ConnectionsService,
    private readonly audit: AuditService,
    config: AppConfig,
    @Optional() private readonly consent?: ConsentService,
    // Outcome details can quote rejected values: sealed at rest.
    @Optional() private readonly pii?: PiiCodec,
  ) {
    this.waitsForDetection = config.env.SYNCLINE_IDENTITY_MODE !== 'off';
    this.retry = {
      maxAttempts: config.env.OUTBOX_MAX_ATTEMPTS,
      baseDelayMs: config.env.OUTBOX_BASE_DELAY_MS,
      maxDelayMs: config.env.OUTBOX_MAX_DELAY_MS,
    };
    this.lockMs = config.env.SYNCLINE_LEASE_MS;
    this.pushConcurrency = config.env.OUTBOX_PUSH_CONCURRENCY;
  }

  /** Enqueues (or refreshes) outbox rows for every destination of the given syncs. Never back to `origin`. */
  async enqueueForSyncs(
    tx: Tx,
    syncs: SyncConfig[],
    customerIds: string[],
    op: OutboxOp,
    origin: string | null,
  ): Promise<number> {
    if (!customerIds.length) return 0;
    const targets = new Map<
      string,
      { connection: string; object: string; syncId: string; updateOnly: boolean }
    >();
    for (const s of syncs) {
      for (const d of s.destinations) {
        if (d.connection === origin) continue;
        targets.set(`${d.connection}\u0000${d.object}`, {
          connection: d.connection,
          object: d.object,
          syncId: s.id,
          updateOnly: s.mode === SyncMode.UpdateOnly,
        });
      }
    }
    let n = 0;
    for (const t of targets.values()) {
      let ids = customerIds;
      if (t.updateOnly && op === OutboxOp.Upsert)
        ids = await this.existingAt(tx, t.connection, t.object, customerIds);
      n += await this.enqueue(tx, t.connection, t.object, ids, op, t.syncId);
    }
    return n;
  }

  async enqueue(
    tx: Tx,
    connection: string,
    object: string,
    customerIds: string[],
    op: OutboxOp,
    syncId: string | null,
  ): Promise<number> {
    const ids = [...new Set(customerIds)];
    if (!ids.length) return 0;
    const now = this.clock.nowIso();
    const versions = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      for (const r of await tx.query(
        `SELECT id, version FROM customers WHERE id IN (${slice.map(() => '?').join(',')})`,
        slice,
      )) {
        versions.set(r.id, Number(r.version));
      }
    }
    await tx.insertMany(
      'outbox',
      OUTBOX_COLUMNS,
      ids.map((id) => [
        connection,
        object,
        id,
        op,
        syncId,
        versions.get(id) ?? 0,
        OutboxStatus.Pending,
        0,
        now,
        null,
        now,
        now,
      ]),
      `ON CONFLICT (connection, object, customer_id) DO UPDATE SET op = excluded.op, sync_id = excluded.sync_id, customer_version = excluded.customer_version, status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, last_error = NULL, updated_at = excluded.updated_at`,
    );
    return ids.length;
  }

  private async existingAt(
    tx: Tx,
    connection: string,
    object: string,
    customerIds: string[],
  ): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < customerIds.length; i += 500) {
      const slice = customerIds.slice(i, i + 500);
      out.push(...new Set((await identitiesAt(tx, connection, object, slice)).map((r) => r.customer_id)));
    }
    return out;
  }

  async pendingCount(connection?: string): Promise<number> {
    const rows = await this.db.query(
      `SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'${connection ? ' AND connection = ?' : ''}`,
      connection ? [connection] : [],
    );
    return Number(rows[0].n);
  }

  /** Destinations with due work. */
  async dueTargets(): Promise<{ connection: string; object: string }[]> {
    return this.db.query(
      "SELECT DISTINCT connection, object FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?",
      [this.clock.nowIso()],
    );
  }

  /** Earliest next attempt of pending rows (to schedule the next drain). */
  async nextDueAt(): Promise<string | null> {
    const [r] = await this.db.query("SELECT MIN(next_attempt_at) AS t FROM outbox WHERE status = 'pending'");
    return r?.t ?? null;
  }

  /** Sends due rows for one destination in batches until none is due (or maxBatches). */
  async drain(connectionId: string, object: string, options: DrainOptions = {}): Promise<RunCounts> {
    // One drainer per vendor account and object, not per connection: two connections to one account pushing the
    // same people at once can leave the vendor with two records of one (see Connector.accountKey).
    const ctx = await this.connections.context(connectionId);
    const account = this.registry.get(ctx.connector).accountKey?.(ctx) ?? `connection:${connectionId}`;
    const lock = `drain:${contentHash([account, object]).slice(0, 40)}`;
    const owner = randomUUID();
    for (;;) {
      if (await this.lock(lock, owner)) break;
      if (!options.waitForLock) return emptyCounts();
      await new Promise((r) => setTimeout(r, 50));
    }
    // Renewed on a timer too, not only between batches: a batch slower than the lock must not let a second
    // drainer in, and a killed holder blocks its destination for at most one lock length.
    const renew = setInterval(
      () => void this.extendLock(lock, owner).catch(() => undefined),
      this.lockMs / 3,
    );
    renew.unref();
    try {
      return await this.drainLocked(connectionId, object, options, () => this.lock(lock, owner));
    } finally {
      clearInterval(renew);
      await this.db.transaction((tx) =>
        tx.execute('DELETE FROM sync_leases WHERE sync_id = ? AND run_id = ?', [lock, owner]),
      );
    }
  }

  /** Only extends a lock still held (never takes one), so a late timer cannot re-take a released lock. */
  private async extendLock(name: string, owner: string): Promise<void> {
    const expires = new Date(this.clock.now().getTime() + this.lockMs).toISOString();
    await this.db.transaction((tx) =>
      tx.execute('UPDATE sync_leases SET expires_at = ? WHERE sync_id = ? AND run_id = ?', [
        expires,
        name,
        owner,
      ]),
    );
  }

  /** Takes or renews the drain lock (a row in sync_leases that expires if its holder dies). */
  private async lock(name: string, owner: string): Promise<boolean> {
    const now = this.clock.nowIso();
    const expires = new Date(this.clock.now().getTime() + this.lockMs).toISOString();
    return this.db.transaction(async (tx) => {
      const renewed = await tx.execute(
        'UPDATE sync_leases SET expires_at = ? WHERE sync_id = ? AND run_id = ?',
        [expires, name, owner],
      );
      if (renewed) return true;
      const taken = await tx.execute(
        'UPDATE sync_leases SET run_id = ?, owner = ?, expires_at = ? WHERE sync_id = ? AND expires_at < ?',
        [owner, 'outbox', expires, name, now],
      );
      if (taken) return true;
      return (
        (await tx.execute(
          'INSERT INTO sync_leases (sync_id, run_id, owner, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (sync_id) DO NOTHING',
          [name, owner, 'outbox', expires],
        )) === 1
      );
    });
  }

  private async drainLocked(
    connectionId: string,
    object: string,
    options: DrainOptions,
    renew: () => Promise<boolean>,
  ): Promise<RunCounts> {
    const total = emptyCounts();
    const ctx = await this.connections.context(connectionId);
    const connector = this.registry.get(ctx.connector);
    const mapping = this.mappings.find(connector.manifest.id, object);
    if (!mapping) throw new Error(`no mapping for ${connector.manifest.id}/${object}`);
    const batchSize = Math.max(1, connector.manifest.limits.maxBatchSize);
    const target: PushTarget = {
      connectionId,
      object,
      ctx,
      connector,
      mapping,
      esp: connector.manifest.kind === ConnectorKind.Esp,
      sending: new Set(),
      deleted: new Set(),
    };
    // Up to `pushConcurrency` batches in flight: while the vendor works on one, the next is selected, prepared and
    // sent. Rows of a batch in flight are left out of the next selections (a re-enqueued newer version waits for
    // its settle).
    // A batch that deletes goes out alone: it starts once every batch before it has settled, and the next starts
    // once it has. A vendor that matches by email can give a record left behind by a survivor to another
    // customer's write in flight (that customer took the survivor's old email); the delete's check of who holds the
    // record (heldByLiveCustomers) sees only settled writes, and a write and a delete of one record sent side by
    // side reach the vendor in either order. It also keeps a survivor's update behind its loser's delete (selected
    // only after the delete has settled). Deletes are the rare rows (merges, records left behind).
    const inFlight = new Set<number>();
    const running = new Set<Promise<void>>();
    let failed: { err: unknown } | undefined;
    let started = 0;
    while (!failed && (options.maxBatches === undefined || started < options.maxBatches)) {
      if (started > 0 && !(await renew())) break; // lost the lock (we stalled past its expiry): let the new holder go on
      const now = this.clock.nowIso();
      const rows = await this.nextBatch(target, batchSize, now, inFlight);
      if (!rows.length) {
        if (!running.size) break;
        // Nothing more now; a batch settling may leave a newer version of one of its rows due.
        await Promise.race(running);
        continue;
      }
      const deletes = rows.some((r) => r.op === OutboxOp.Delete);
      if (deletes && running.size) {
        // Selected again once the batches in flight have settled (what they settle can change the batch).
        await Promise.all(running);
        continue;
      }
      started++;
      for (const r of rows) {
        inFlight.add(r.id);
        if (r.op === OutboxOp.Upsert) target.sending.add(r.customer_id);
      }
      const push: Promise<void> = this.pushBatch(target, rows, options)
        .then((counts) => {
          for (const [k, v] of Object.entries(counts)) (total as unknown as Record<string, number>)[k] += v;
        })
        .catch((err: unknown) => {
          failed ??= { err };
        })
        .finally(() => {
          for (const r of rows) {
            inFlight.delete(r.id);
            if (r.op === OutboxOp.Upsert) target.sending.delete(r.customer_id);
          }
          running.delete(push);
        });
      running.add(push);
      if (deletes) await push;
      else if (running.size >= this.pushConcurrency) await Promise.race(running);
    }
    await Promise.all(running);
    if (failed) throw failed.err;
    return total;
  }

  /**
   * The next due rows of a destination in id order, without rows of batches still in flight, with the pending
   * deletes of their customers' merged-away twins (see withLoserDeletes).
   */
  private async nextBatch(
    target: PushTarget,
    batchSize: number,
    now: string,
    inFlight: ReadonlySet<number>,
  ): Promise<OutboxRow[]> {
    const { connectionId, object } = target;
    // In-flight rows are still pending (the lowest ids, mostly): read past them rather than list them in the SQL.
    const found = await this.db.query<OutboxRow>(
      // A customer waiting for duplicate detection is not pushed yet: a merge could still fold it into another,
      // and the vendor would be left with both. Pending rows are walked in id order (ix_outbox_pending_id) up to the
      // limit; the due time is compared as an expression (`|| ''`) so that SQLite's planner does not take an index
      // on it instead and sort every due row by id.
      `SELECT * FROM outbox WHERE connection = ? AND object = ? AND status = 'pending' AND next_attempt_at || '' <= ?${
        this.waitsForDetection
          ? ' AND NOT EXISTS (SELECT 1 FROM identity_pending p WHERE p.customer_id = outbox.customer_id)'
          : ''
      } ORDER BY id LIMIT ?`,
      [connectionId, object, now, batchSize + inFlight.size],
    );
    const rows = inFlight.size ? found.filter((r) => !inFlight.has(r.id)).slice(0, batchSize) : found;
    if (!rows.length) return rows;
    return this.withLoserDeletes(target, rows, now);
  }

  /**
   * The records this batch would delete that a live customer other than the row's holds at the destination, by
   * record id, with that customer. A record left behind by a survivor's push (see deleteReplacedRecords) is handed to
   * a merged-away customer to delete; a vendor that matches by email may meanwhile have matched another customer
   * holding the survivor's old email to that same record (seen in a 100,000-contact run: the delete then took that
   * customer's contact away). Such a record is not left behind any more, and is not deleted.
   */
  private async heldByLiveCustomers(
    target: PushTarget,
    rows: OutboxRow[],
    states: Map<string, { external_id: string | null }>,
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const ids = [
      ...new Set(
        rows
          .filter((r) => r.op === OutboxOp.Delete)
          .map((r) => states.get(r.customer_id)?.external_id)
          .filter((x): x is string => !!x),
      ),
    ];
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      for (const r of await this.db.query<{ external_id: string; customer_id: string }>(
        `SELECT d.external_id, d.customer_id FROM destination_state d JOIN customers c ON c.id = d.customer_id
          WHERE d.connection = ? AND d.object = ? AND d.external_id IN (${slice.map(() => '?').join(',')})
            AND c.merged_into IS NULL AND c.erased_at IS NULL`,
        [target.connectionId, target.object, ...slice],
      ))
        out.set(r.external_id, r.customer_id);
    }
    return out;
  }

  /** Pushes one batch and settles it in one transaction; vendor failures settle as retries, never throw. */
  private async pushBatch(target: PushTarget, rows: OutboxRow[], options: DrainOptions): Promise<RunCounts> {
    const { connectionId, object, ctx, connector, mapping, esp } = target;
    const counts = emptyCounts();
    const customers = await this.customers.loadMany(
      this.db,
      rows.map((r) => r.customer_id),
    );
    // A merge that committed after this batch was selected, and before its customers were loaded, left a survivor
    // here with fields it took from a loser (its email, say) whose delete is not in this batch: sent now, the
    // update would match both vendor records and be refused. It stays pending; the next selection takes the delete
    // with it, deletes first. (Loaded before this check: a merge committed after it left the fields pre-merge.)
    const held = await this.survivorsAwaitingDeletes(target, rows);
    const states = await this.destinationStates(
      connectionId,
      object,
      rows.map((r) => r.customer_id),
    );
    const syncFilters = await this.syncFilters(rows);
    const consents = await this.consent?.latest(rows.map((r) => r.customer_id));
    const outcomes: OutcomeRow[] = [];
    const base = {
      runId: options.runId ?? null,
      connection: connectionId,
      object,
      direction: 'out' as const,
      mappingVersion: mapping.version,
      connectorVersion: connector.manifest.version,
    };
    const settle: {
      row: OutboxRow;
      status: OutboxStatus;
      error?: string;
      retryAt?: string;
      externalId?: string;
      hash?: string;
      attempts?: number;
      /**
       * The customer's record at this destination is gone: its destination state is removed, and with a vendor id
       * (`removed`), that id's state and identity whichever customer holds them now (a merge may have moved them).
       */
      gone?: boolean;
      removed?: string;
    }[] = [];
    const writes: { row: OutboxRow; item: WriteItem; hash: string }[] = [];
    /** `removal`: the consent gate's reason, for the record of a customer who left an ESP's audience. */
    const deletes: { row: OutboxRow; externalId: string; removal?: string }[] = [];
    /** Removals of records pushed without their vendor id ever learned: looked up by address below. */
    const unknownIds: { row: OutboxRow; email: string }[] = [];

    const takenOver = await this.heldByLiveCustomers(target, rows, states);

    for (const row of rows) {
      if (held.has(row.id)) continue;
      const c = customers.get(row.customer_id);
      const state = states.get(row.customer_id);
      if (row.op === OutboxOp.Delete) {
        const holder = state?.external_id ? takenOver.get(state.external_id) : undefined;
        if (holder && holder !== row.customer_id) {
          // The record is a live customer's now (see heldByLiveCustomers): not this one's to delete.
          settle.push({ row, status: OutboxStatus.Sent, gone: true });
          outcomes.push({
            ...base,
            syncId: row.sync_id,
            customerId: row.customer_id,
            externalId: state!.external_id,
            action: OutcomeAction.Unchanged,
            detail: { notDeleted: `the record is held by live customer ${holder}` },
          });
          continue;
        }
        if (state?.external_id) deletes.push({ row, externalId: state.external_id });
        else settle.push({ row, status: OutboxStatus.Sent, gone: true });
        continue;
      }
      // Merged away after this batch was selected (the merge deleted the row; the survivor is queued instead):
      // sent now, it would create or update a record the survivor's update then collides with.
      if (!c || c.erasedAt || c.mergedInto) {
        settle.push({ row, status: OutboxStatus.Sent });
        continue;
      }
      const gate = consentBlock(
        c,
        esp || syncFilters.get(row.sync_id ?? '') === 'email',
        consents?.get(c.id),
      );
      if (gate) {
        // Already at an ESP: its record there is deleted. Left as it was, it would stay on the ESP's audience
        // (an opt-out made elsewhere never reaching it), and its email would stay taken there: another customer
        // given that address later (merges move emails) would be refused by the vendor as matching two records.
        // Only an opt-out, and only a contact Syncline pushed there (one it read from the vendor, known by its
        // identity alone, is the vendor's own; a bounce the ESP suppresses itself).
        if (esp && gate === 'unsubscribed' && state?.last_hash) {
          if (state.external_id) {
            deletes.push({ row, externalId: state.external_id, removal: gate });
            continue;
          }
          if (typeof c.fields.email === 'string' && c.fields.email) {
            unknownIds.push({ row, email: c.fields.email });
            continue;
          }
        }
        counts.suppressed++;
        settle.push({ row, status: OutboxStatus.Suppressed, error: gate });
        outcomes.push({
          ...base,
          syncId: row.sync_id,
          customerId: c.id,
          externalId: state?.external_id ?? null,
          action: OutcomeAction.Suppressed,
          detail: { reason: gate },
        });
        continue;
      }
      const mapped = mapOutbound(mapping, c.fields, { customerId: c.id });
      if (mapped.issues.length) {
        counts.deadLettered++;
        const reason = `invalid-data: ${mapped.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`;
        settle.push({ row, status: OutboxStatus.Dead, error: reason });
        outcomes.push({
          ...base,
          syncId: row.sync_id,
          customerId: c.id,
          externalId: null,
          action: OutcomeAction.DeadLettered,
          detail: { reason },
        });
        continue;
      }
      const shaped = sentShape(mapped.record);
      const hash = contentHash(shaped);
      if (state && state.last_hash === hash) {
        counts.unchanged++;
        settle.push({ row, status: OutboxStatus.Sent, externalId: state.external_id ?? undefined, hash });
        outcomes.push({
          ...base,
          syncId: row.sync_id,
          customerId: c.id,
          externalId: state.external_id,
          action: OutcomeAction.Unchanged,
          detail: null,
        });
        continue;
      }
      writes.push({
        row,
        item: { key: c.id, externalId: state?.external_id ?? undefined, record: mapped.record },
        hash,
      });
    }

    // A removal of a record whose id the lookup after its creation missed (the vendor's search lags): found by its
    // address, and only the record that carries this customer's id (the mapping's sync id field) is taken. Not
    // found yet, it is retried like an outage, then dead-lettered with the reason.
    if (unknownIds.length) {
      let found: VendorRecord[] = [];
      let lookupError: unknown;
      try {
        found = await connector.readByIds(
          ctx,
          object,
          unknownIds.map((u) => u.email),
        );
      } catch (err) {
        lookupError = err;
      }
      const bySyncId = new Map(found.map((r) => [String(mapping.readSyncId?.(r.data) ?? ''), r.id]));
      for (const u of unknownIds) {
        const id = bySyncId.get(u.row.customer_id);
        if (id) deletes.push({ row: u.row, externalId: id, removal: 'unsubscribed' });
        else
          settle.push(
            this.failure(
              u.row,
              lookupError ??
                new ConnectorError(
                  ConnectorErrorCode.Temporary,
                  "the opted-out customer's record to remove is not found by its address yet (its id was never learned)",
                ),
              counts,
              outcomes,
              base,
            ),
          );
      }
    }

    // Deletes first: a merge deletes the loser's record before the survivor's update, which may carry the
    // loser's identifiers, reaches the vendor.
    if (deletes.length) {
      try {
        const results = await connector.delete(
          ctx,
          object,
          deletes.map((d) => d.externalId),
        );
        const byId = new Map(results.map((r) => [r.externalId, r]));
        for (const d of deletes) {
          const r = byId.get(d.externalId);
          if (!r || r.status !== 'failed') target.deleted.add(d.externalId);
          if (r && r.status === 'failed') {
            settle.push(
              this.failure(
                d.row,
                new ConnectorError(
                  r.error?.code ?? ConnectorErrorCode.Permanent,
                  r.error?.message ?? 'delete failed',
                ),
                counts,
                outcomes,
                base,
              ),
            );
          } else if (d.removal) {
            counts.suppressed++;
            settle.push({
              row: d.row,
              status: OutboxStatus.Suppressed,
              error: d.removal,
              gone: true,
              removed: d.externalId,
            });
            outcomes.push({
              ...base,
              syncId: d.row.sync_id,
              customerId: d.row.customer_id,
              externalId: d.externalId,
              action: OutcomeAction.Suppressed,
              detail: { reason: d.removal, removed: true },
            });
          } else {
            counts.deleted++;
            settle.push({ row: d.row, status: OutboxStatus.Sent, externalId: undefined, gone: true });
            outcomes.push({
              ...base,
              syncId: d.row.sync_id,
              customerId: d.row.customer_id,
              externalId: d.externalId,
              action: OutcomeAction.Deleted,
              detail: null,
            });
          }
        }
      } catch (err) {
        for (const d of deletes) settle.push(this.failure(d.row, err, counts, outcomes, base));
      }
    }

    if (writes.length) {
      try {
        const results = await connector.write(
          ctx,
          object,
          writes.map((w) => w.item),
        );
        const byKey = new Map(results.map((r) => [r.key, r]));
        for (const w of writes) {
          const r = byKey.get(w.item.key);
          if (!r) {
            settle.push(
              this.failure(
                w.row,
                new ConnectorError(
                  ConnectorErrorCode.Temporary,
                  'connector returned no outcome for this record',
                ),
                counts,
                outcomes,
                base,
              ),
            );
            continue;
          }
          if (r.status === WriteStatus.Failed) {
            const err = new ConnectorError(
              r.error?.code ?? ConnectorErrorCode.Permanent,
              r.error?.message ?? 'write failed',
              { retryAfterMs: r.error?.retryAfterMs, vendorCode: r.error?.vendorCode },
            );
            settle.push(this.failure(w.row, err, counts, outcomes, base));
            continue;
          }
          if (r.externalId && target.deleted.has(r.externalId)) {
            // The vendor answered with a record this drain has deleted since: it matched the record (by email) before
            // the delete reached it. A delete batch goes out alone, but a customer's removal from an ESP on opt-out
            // is decided inside its batch, beside others in flight. Recorded, the customer would hold a record that
            // is gone and never be sent again; retried, it gets a record of its own.
            settle.push(
              this.failure(
                w.row,
                new ConnectorError(
                  ConnectorErrorCode.Temporary,
                  'the vendor matched this write to a record deleted while the write was in flight',
                ),
                counts,
                outcomes,
                base,
              ),
            );
            continue;
          }
          if (r.status === WriteStatus.Unchanged) counts.unchanged++;
          else counts.sent++;
          settle.push({
            row: w.row,
            status: OutboxStatus.Sent,
            externalId: r.externalId ?? w.item.externalId,
            hash: w.hash,
          });
          outcomes.push({
            ...base,
            syncId: w.row.sync_id,
            customerId: w.row.customer_id,
            externalId: r.externalId ?? null,
            action:
              r.status === WriteStatus.Created
                ? OutcomeAction.Created
                : r.status === WriteStatus.Updated
                  ? OutcomeAction.Updated
                  : OutcomeAction.Unchanged,
            detail: null,
          });
        }
      } catch (err) {
        for (const w of writes) settle.push(this.failure(w.row, err, counts, outcomes, base));
      }
    }
    await this.db.transaction(async (tx) => {
      // Pushed customers locked first (FOR KEY SHARE conflicts only with the merge's FOR UPDATE, not with page
      // writes): a merge of one of them either committed before (the fold below sees merged_into) or waits for
      // this commit (and then sees the destination state written here).
      const pushedIds = [
        ...new Set(
          settle
            .filter((x) => x.status === OutboxStatus.Sent && x.hash && x.row.op === OutboxOp.Upsert)
            .map((x) => x.row.customer_id),
        ),
      ].sort();
      if (tx.dialect === 'postgres')
        for (let i = 0; i < pushedIds.length; i += 500) {
          const slice = pushedIds.slice(i, i + 500);
          await tx.query(
            `SELECT id FROM customers WHERE id IN (${slice.map(() => '?').join(',')}) ORDER BY id FOR KEY SHARE`,
            slice,
          );
        }
      const now2 = this.clock.nowIso();
      // Only settle a row if nobody re-enqueued a newer version meanwhile; otherwise it stays pending.
      // Plain successes (the bulk) are settled with one statement per chunk: a round trip per row was the cost on PostgreSQL.
      const sent = settle.filter(
        (x) =>
          x.status === OutboxStatus.Sent && !x.error && x.row.attempts === (x.attempts ?? x.row.attempts),
      );
      const others = settle.filter((x) => !sent.includes(x));
      for (let i = 0; i < sent.length; i += 400) {
        const chunk = sent.slice(i, i + 400);
        await tx.execute(
          `UPDATE outbox SET status = 'sent', next_attempt_at = ?, last_error = NULL, updated_at = ? WHERE (id, customer_version) IN (VALUES ${chunk.map(() => '(CAST(? AS INTEGER), CAST(? AS INTEGER))').join(',')})`,
          [now2, now2, ...chunk.flatMap((x) => [x.row.id, x.row.customer_version])],
        );
      }
      // The rest (suppressed, retried, dead) by what they are set to: a batch's suppressions mostly share a reason.
      const groups = new Map<string, { set: unknown[]; rows: OutboxRow[] }>();
      for (const x of others) {
        const set = [x.status, x.attempts ?? x.row.attempts, x.retryAt ?? now2, x.error ?? null];
        const key = JSON.stringify(set);
        if (!groups.has(key)) groups.set(key, { set, rows: [] });
        groups.get(key)!.rows.push(x.row);
      }
      for (const { set, rows: grouped } of groups.values())
        for (let i = 0; i < grouped.length; i += 400) {
          const chunk = grouped.slice(i, i + 400);
          await tx.execute(
            `UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE (id, customer_version) IN (VALUES ${chunk.map(() => '(CAST(? AS INTEGER), CAST(? AS INTEGER))').join(',')})`,
            [...set, now2, ...chunk.flatMap((r) => [r.id, r.customer_version])],
          );
        }
      const states = settle.filter((x) => x.status === OutboxStatus.Sent && x.hash);
      await this.saveDestinationStates(
        tx,
        states.map((x) => ({ row: x.row, externalId: x.externalId ?? null, hash: x.hash! })),
        now2,
      );
      await this.foldMergedAfterPush(tx, connectionId, object, states);
      for (const x of settle) {
        if (x.gone) {
          await tx.execute(
            'DELETE FROM destination_state WHERE connection = ? AND object = ? AND customer_id = ?',
            [x.row.connection, x.row.object, x.row.customer_id],
          );
          if (x.removed) {
            // The vendor no longer holds the record: nothing is left to link to it (as an erasure does).
            const key = [x.row.connection, x.row.object, x.removed];
            await tx.execute(
              'DELETE FROM destination_state WHERE connection = ? AND object = ? AND external_id = ?',
              key,
            );
            await tx.execute(
              'DELETE FROM customer_identities WHERE connection = ? AND object = ? AND external_id = ?',
              key,
            );
          }
        }
      }
      await writeOutcomes(tx, outcomes, now2, this.pii);
    });
    options.onBatch?.(counts);
    return counts;
  }

  private failure(
    row: OutboxRow,
    err: unknown,
    counts: RunCounts,
    outcomes: OutcomeRow[],
    base: Omit<OutcomeRow, 'syncId' | 'customerId' | 'externalId' | 'action' | 'detail'>,
  ): { row: OutboxRow; status: OutboxStatus; error: string; retryAt?: string; attempts: number } {
    const ce = isConnectorError(err)
      ? err
      : new ConnectorError(ConnectorErrorCode.Temporary, (err as Error)?.message ?? String(err));
    const attempts = row.attempts + 1;
    const reason = redactText(`${ce.code}: ${ce.message}`);
    // Auth failures wait for the connection to be fixed; they are retried like outages, never dropped.
    const retryable = ce.retryable || ce.code === ConnectorErrorCode.Auth;
    if (retryable && attempts < this.retry.maxAttempts) {
      counts.failed++;
      const retryAt = new Date(
        this.clock.now().getTime() + this.backoffMs(attempts, ce.retryAfterMs),
      ).toISOString();
      outcomes.push({
        ...base,
        syncId: row.sync_id,
        customerId: row.customer_id,
        externalId: null,
        action: OutcomeAction.Retrying,
        detail: { reason, attempts, retryAt },
      });
      return { row, status: OutboxStatus.Pending, error: reason, retryAt, attempts };
    }
    counts.deadLettered++;
    outcomes.push({
      ...base,
      syncId: row.sync_id,
      customerId: row.customer_id,
      externalId: null,
      action: OutcomeAction.DeadLettered,
      detail: { reason, attempts },
    });
    this.log.warn(
      `dead-lettered ${row.connection}/${row.object} customer ${row.customer_id} after ${attempts} attempt(s): ${ce.code}`,
    );
    return { row, status: OutboxStatus.Dead, error: reason, attempts };
  }

  /** Exponential back-off with full jitter, never sooner than the vendor's retry-after. */
  backoffMs(attempt: number, retryAfterMs?: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    const jittered = cap / 2 + Math.random() * (cap / 2);
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  /**
   * Pending deletes of customers merged into a batch's customers go with the batch (deletes first). A merge deletes
   * the loser's record where the survivor has one, and the survivor's update may carry the loser's email: pushed
   * before that delete (the survivor's outbox row is older, so it comes first in id order, often a batch earlier),
   * the update matched two records at the vendor and was refused. A delete not due yet (backing off after a failure)
   * holds the survivor's update back with it. Returns the batch to push.
   */
  private async withLoserDeletes(target: PushTarget, rows: OutboxRow[], now: string): Promise<OutboxRow[]> {
    const have = new Set(rows.map((r) => r.id));
    const held = new Set<string>();
    const survivors = [...new Set(rows.filter((r) => r.op === OutboxOp.Upsert).map((r) => r.customer_id))];
    const { losers, deletes } = await this.loserRows(target.connectionId, target.object, survivors);
    // A loser whose own update is being sent right now (merged meanwhile): its record may appear at the vendor
    // when that batch's job runs, and the fold of its settle then queues its delete; the survivor waits for that.
    for (const [loser, survivor] of losers) if (target.sending.has(loser)) held.add(survivor);
    for (const { survivor, row: d } of deletes) {
      // Not due yet: the survivor's update waits for it. (A delete is never in flight during a selection: a batch
      // that deletes goes out alone, see drainLocked.)
      if (String(d.next_attempt_at) > now) held.add(survivor);
      else if (!have.has(d.id)) {
        have.add(d.id);
        rows.push(d);
      }
    }
    return held.size ? rows.filter((r) => !(r.op === OutboxOp.Upsert && held.has(r.customer_id))) : rows;
  }

  /**
   * Ids of the batch's upsert rows whose customer has a merged-away customer's delete pending outside the batch,
   * or whose merged-away customer's update is being sent by another batch in flight.
   */
  private async survivorsAwaitingDeletes(target: PushTarget, rows: OutboxRow[]): Promise<Set<number>> {
    const inBatch = new Set(rows.map((r) => r.id));
    const upserts = rows.filter((r) => r.op === OutboxOp.Upsert);
    const mine = new Set(upserts.map((r) => r.customer_id));
    const waiting = new Set<string>();
    const { losers, deletes } = await this.loserRows(
      target.connectionId,
      target.object,
      upserts.map((r) => r.customer_id),
    );
    for (const [loser, survivor] of losers)
      if (target.sending.has(loser) && !mine.has(loser)) waiting.add(survivor);
    for (const { survivor, row } of deletes) if (!inBatch.has(row.id)) waiting.add(survivor);
    return new Set(upserts.filter((r) => waiting.has(r.customer_id)).map((r) => r.id));
  }

  /** The customers merged into these survivors (loser → survivor), and their pending deletes at this destination. */
  private async loserRows(
    connectionId: string,
    object: string,
    survivors: string[],
  ): Promise<{
    losers: Map<string, string>;
    deletes: { survivor: string; row: OutboxRow & { next_attempt_at: string } }[];
  }> {
    const all = new Map<string, string>();
    const out: { survivor: string; row: OutboxRow & { next_attempt_at: string } }[] = [];
    for (let i = 0; i < survivors.length; i += 500) {
      const slice = survivors.slice(i, i + 500);
      // Two indexed steps (merged-away customers, then their rows): joined in one statement, SQLite's planner
      // walked every outbox row of the destination instead.
      const losers = await this.db.query<{ id: string; merged_into: string }>(
        `SELECT id, merged_into FROM customers WHERE merged_into IN (${slice.map(() => '?').join(',')})`,
        slice,
      );
      if (!losers.length) continue;
      const survivorOf = new Map(losers.map((l) => [l.id, l.merged_into]));
      // Customers merged into those losers before they were merged away themselves: their deletes come first too.
      for (let level = [...survivorOf.keys()], hops = 0; level.length && hops < 8; hops++) {
        const deeper = await this.db.query<{ id: string; merged_into: string }>(
          `SELECT id, merged_into FROM customers WHERE merged_into IN (${level.map(() => '?').join(',')})`,
          level,
        );
        level = [];
        for (const d of deeper)
          if (!survivorOf.has(d.id)) {
            survivorOf.set(d.id, survivorOf.get(d.merged_into)!);
            level.push(d.id);
          }
      }
      for (const [l, sv] of survivorOf) all.set(l, sv);
      // Status checked here, not in SQL: with `status = 'pending'` and a long id list, SQLite's planner walked
      // every pending row of the destination instead of looking the customers up.
      const deletes = await this.db.query<OutboxRow & { next_attempt_at: string }>(
        `SELECT * FROM outbox WHERE connection = ? AND object = ? AND customer_id IN (${[...survivorOf.keys()].map(() => '?').join(',')}) AND op = ?`,
        [connectionId, object, ...survivorOf.keys(), OutboxOp.Delete],
      );
      for (const d of deletes)
        if (d.status === OutboxStatus.Pending) out.push({ survivor: survivorOf.get(d.customer_id)!, row: d });
    }
    return { losers: all, deletes: out };
  }

  /**
   * A customer merged into another while its push was in flight (another worker's duplicate detection) now has a
   * record at the vendor the merge could not see. Its record becomes the survivor's when the survivor has none
   * there (and the survivor is pushed to it), or is deleted as a twin when the survivor has one.
   */
  private async foldMergedAfterPush(
    tx: Tx,
    connection: string,
    object: string,
    pushed: { row: OutboxRow }[],
  ): Promise<void> {
    const ids = [
      ...new Set(pushed.filter((x) => x.row.op === OutboxOp.Upsert).map((x) => x.row.customer_id)),
    ];
    if (!ids.length) return;
    const syncOf = new Map(pushed.map((x) => [x.row.customer_id, x.row.sync_id]));
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      const merged = await tx.query<{ id: string; merged_into: string }>(
        `SELECT id, merged_into FROM customers WHERE merged_into IS NOT NULL AND id IN (${slice.map(() => '?').join(',')})`,
        slice,
      );
      for (const m of merged) {
        const syncId = syncOf.get(m.id) ?? null;
        // The customer it ended in: its survivor may have been merged away too meanwhile (a chain of merges).
        const into = await this.finalSurvivor(tx, m.merged_into);
        const held = await tx.query<{ customer_id: string; external_id: string | null }>(
          'SELECT customer_id, external_id FROM destination_state WHERE connection = ? AND object = ? AND customer_id IN (?, ?)',
          [connection, object, into, m.id],
        );
        const theirs = held.find((h) => h.customer_id === into);
        const mine = held.find((h) => h.customer_id === m.id);
        if (theirs && mine?.external_id && theirs.external_id === mine.external_id) {
          // The merge already gave the loser's record to the survivor; this push only touched that same record.
          await tx.execute(
            'DELETE FROM destination_state WHERE connection = ? AND object = ? AND customer_id = ?',
            [connection, object, m.id],
          );
          await this.enqueue(tx, connection, object, [into], OutboxOp.Upsert, syncId);
        } else if (theirs) {
          await this.enqueue(tx, connection, object, [m.id], OutboxOp.Delete, syncId);
        } else {
          await tx.execute(
            'UPDATE destination_state SET customer_id = ? WHERE connection = ? AND object = ? AND customer_id = ?',
            [into, connection, object, m.id],
          );
          await this.enqueue(tx, connection, object, [into], OutboxOp.Upsert, syncId);
        }
      }
    }
  }

  /** The live customer a merge chain ends in (a survivor merged away later points on; merges never cycle). */
  private async finalSurvivor(tx: Tx, id: string): Promise<string> {
    let at = id;
    for (let hops = 0; hops < 64; hops++) {
      const [r] = await tx.query<{ merged_into: string | null }>(
        'SELECT merged_into FROM customers WHERE id = ?',
        [at],
      );
      if (!r?.merged_into) return at;
      at = r.merged_into;
    }
    return at;
  }

  private async saveDestinationStates(
    tx: Tx,
    items: { row: OutboxRow; externalId: string | null; hash: string }[],
    now: string,
  ): Promise<void> {
    if (!items.length) return;
    const byCustomer = new Map(items.map((x) => [x.row.customer_id, x]));
    await this.deleteReplacedRecords(tx, [...byCustomer.values()]);
    await tx.insertMany(
      'destination_state',
      ['connection', 'object', 'customer_id', 'external_id', 'last_hash', 'last_version', 'pushed_at'],
      [...byCustomer.values()].map(({ row, externalId, hash }) => [
        row.connection,
        row.object,
        row.customer_id,
        externalId,
        hash,
        row.customer_version,
        now,
      ]),
      'ON CONFLICT (connection, object, customer_id) DO UPDATE SET external_id = COALESCE(excluded.external_id, destination_state.external_id), last_hash = excluded.last_hash, last_version = excluded.last_version, pushed_at = excluded.pushed_at',
    );
    // The destination's id becomes an identity of the customer, so its webhooks resolve to the same person.
    const identities = [...byCustomer.values()].filter((x) => x.externalId);
    await tx.insertMany(
      'customer_identities',
      ['connection', 'object', 'external_id', 'customer_id', 'created_at'],
      identities.map(({ row, externalId }) => [row.connection, row.object, externalId, row.customer_id, now]),
      'ON CONFLICT (connection, object, external_id) DO NOTHING',
    );
  }

  /**
   * A write that answers with a different record than the one we hold for the customer leaves that record behind
   * at the vendor: a merge moved the loser's record to a survivor whose push was already in flight, or a vendor that
   * matches by email created a new record for a survivor whose email differs from the loser's. The record left
   * behind is a duplicate of the person; it is handed to a merged-away customer of the survivor and deleted from the
   * vendor like any merge twin.
   */
  private async deleteReplacedRecords(
    tx: Tx,
    items: { row: OutboxRow; externalId: string | null }[],
  ): Promise<void> {
    const withId = items.filter((x) => x.externalId && x.row.op === OutboxOp.Upsert);
    if (!withId.length) return;
    const { connection, object } = withId[0].row;
    for (let i = 0; i < withId.length; i += 500) {
      const slice = withId.slice(i, i + 500);
      // No `external_id IS NOT NULL` in SQL: with it, SQLite's planner ranged over the external-id index, every
      // record held at the destination, instead of looking these customers up by primary key.
      const held = (
        await tx.query<{ customer_id: string; external_id: string | null }>(
          `SELECT customer_id, external_id FROM destination_state WHERE connection = ? AND object = ? AND customer_id IN (${slice.map(() => '?').join(',')})`,
          [connection, object, ...slice.map((x) => x.row.customer_id)],
        )
      ).filter((h): h is { customer_id: string; external_id: string } => h.external_id !== null);
      const answered = new Map(slice.map((x) => [x.row.customer_id, x]));
      for (const h of held) {
        const x = answered.get(h.customer_id)!;
        if (x.externalId === h.external_id) continue;
        const [carrier] = await tx.query<{ id: string }>(
          'SELECT c.id FROM customers c WHERE c.merged_into = ? AND NOT EXISTS (SELECT 1 FROM destination_state d WHERE d.connection = ? AND d.object = ? AND d.customer_id = c.id) ORDER BY c.updated_at DESC LIMIT 1',
          [h.customer_id, connection, object],
        );
        if (!carrier) {
          // Not a merge: the vendor replaced the record itself (deleted there and written anew); the old id is gone.
          this.log.warn(
            `${connection}/${object} answered record ${x.externalId} for customer ${h.customer_id}, which had ${h.external_id}; no merged-away customer to delete the old one for, so it is no longer tracked`,
          );
          continue;
        }
        await tx.insertMany(
          'destination_state',
          ['connection', 'object', 'customer_id', 'external_id', 'last_hash', 'last_version', 'pushed_at'],
          [[connection, object, carrier.id, h.external_id, '', 0, this.clock.nowIso()]],
        );
        await this.enqueue(tx, connection, object, [carrier.id], OutboxOp.Delete, x.row.sync_id);
      }
    }
  }

  private async destinationStates(connection: string, object: string, customerIds: string[]) {
    const out = new Map<string, { external_id: string | null; last_hash: string }>();
    for (let i = 0; i < customerIds.length; i += 500) {
      const slice = customerIds.slice(i, i + 500);
      for (const r of await this.db.query(
        `SELECT customer_id, external_id, last_hash FROM destination_state WHERE connection = ? AND object = ? AND customer_id IN (${slice.map(() => '?').join(',')})`,
        [connection, object, ...slice],
      )) {
        out.set(r.customer_id, { external_id: r.external_id ?? null, last_hash: r.last_hash });
      }
      // Customers first seen at this destination (an identity from a read) already have a vendor id.
      for (const r of await identitiesAt(this.db, connection, object, slice)) {
        if (!out.has(r.customer_id)) out.set(r.customer_id, { external_id: r.external_id, last_hash: '' });
      }
    }
    return out;
  }

  private async syncFilters(rows: OutboxRow[]): Promise<Map<string, string | undefined>> {
    const ids = [...new Set(rows.map((r) => r.sync_id).filter((x): x is string => !!x))];
    const out = new Map<string, string | undefined>();
    if (!ids.length) return out;
    for (const r of await this.db.query(
      `SELECT id, definition FROM syncs WHERE id IN (${ids.map(() => '?').join(',')})`,
      ids,
    )) {
      out.set(r.id, (JSON.parse(r.definition) as SyncConfig).filter?.requireConsent);
    }
    return out;
  }

  /** Dead letters, newest first. */
  async deadLetters(limit = 100, connection?: string): Promise<OutboxRow[]> {
    return this.db.query<OutboxRow>(
      `SELECT * FROM outbox WHERE status = 'dead'${connection ? ' AND connection = ?' : ''} ORDER BY updated_at DESC LIMIT ${Math.min(Math.max(limit, 1), 1000)}`,
      connection ? [connection] : [],
    );
  }

  /** Puts dead letters back in the outbox (all, or the given ids); returns how many. */
  async replayDeadLetters(
    ids: number[] | 'all',
    actor: Actor = { type: ActorType.Api, id: 'unknown' },
  ): Promise<number> {
    const now = this.clock.nowIso();
    return this.db.transaction(async (tx) => {
      const where = ids === 'all' ? '' : ` AND id IN (${ids.map(() => '?').join(',') || 'NULL'})`;
      const params = ids === 'all' ? [] : ids;
      const rows = await tx.query<{ id: number; connection: string; object: string; customer_id: string }>(
        `SELECT id, connection, object, customer_id FROM outbox WHERE status = 'dead'${where}`,
        params,
      );
      if (!rows.length) return 0;
      await tx.execute(
        `UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL, updated_at = ? WHERE status = 'dead'${where}`,
        [now, now, ...params],
      );
      // A replay is an operator decision about customer data: it goes to the audit log like any other.
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Sync,
          entityId: 'dead-letters',
          action: 'dead-letters.replayed',
          payload: {
            count: rows.length,
            items: rows.map((r) => ({
              id: Number(r.id),
              connection: r.connection,
              object: r.object,
              customerId: r.customer_id,
            })),
          },
        },
      ]);
      this.log.log(`${actor.type} ${actor.id} replayed ${rows.length} dead letter(s)`);
      return rows.length;
    });
  }
}

/** Why a customer may not be sent to this destination, or null when it may. */
export function consentBlock(c: CustomerRow, gated: boolean, latestConsent?: ConsentStatus): string | null {
  if (!gated) return null;
  // The consent ledger's latest record (any source, by source time) can only make the gate stricter.
  if (latestConsent === ConsentStatus.Revoked) return 'unsubscribed';
  const consent = c.fields.emailConsent;
  if (consent === EmailConsent.Unsubscribed) return 'unsubscribed';
  if (consent !== EmailConsent.Subscribed) return 'no email consent';
  const d = c.fields.emailDeliverability;
  if (d === EmailDeliverability.Bounced || d === EmailDeliverability.Dropped) return `email ${d}`;
  if (!c.fields.email) return 'no email address';
  return null;
}

/**
 * The identities at (connection, object) of these customers. Looked up by customer id alone and filtered here:
 * asked with `connection = ? AND object = ?` as well, SQLite's planner (which has no statistics) scanned every
 * identity of that object through the primary key's prefix instead, a cost that grew with the base (~35 ms per
 * call at 40,000 customers).
 */
async function identitiesAt(
  db: Tx | Database,
  connection: string,
  object: string,
  customerIds: string[],
): Promise<{ customer_id: string; external_id: string }[]> {
  const rows = await db.query<{
    customer_id: string;
    external_id: string;
    connection: string;
    object: string;
  }>(
    `SELECT customer_id, external_id, connection, object FROM customer_identities WHERE customer_id IN (${customerIds.map(() => '?').join(',')})`,
    customerIds,
  );
  return rows.filter((r) => r.connection === connection && r.object === object);
}
