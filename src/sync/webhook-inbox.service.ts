// Webhooks: verify, record, acknowledge, then work. Each vendor event is stored in the inbox under its vendor
// event id (a redelivery is acknowledged and ignored), then processed through the same inbound path as a
// scheduled run. Partial payloads are completed by fetching the current record from the vendor.
import { Injectable, Logger, NotFoundException, Optional } from '@nestjs/common';
import { ActorType } from '../audit/audit.types';
import { CustomerWriter } from '../canonical/customer-writer.service';
import { Clock } from '../common/clock';
import { isConnectorError } from '../connectors/connector-error';
import { ConnectorRegistry } from '../connectors/connector.registry';
import {
  WebhookEventType,
  type WebhookAck,
  type WebhookEvent,
  type WebhookRequest,
  type VendorRecord,
} from '../connectors/connector.types';
import { DuplicateDetector } from '../identity/duplicate-detector.service';
import { JobName, JobQueue } from '../queue/job-queue';
import { PiiCodec } from '../privacy/pii-codec';
import { redactText } from '../privacy/redact';
import { Database } from '../store/database';
import { ConnectionsService } from './connections.service';
import { InboundService } from './inbound.service';
import { OutboxService } from './outbox.service';
import { emptyCounts, addCounts, OutboxOp, OutcomeAction, type RunCounts } from './sync.types';
import { SyncsService } from './syncs.service';

export interface ReceiveResult {
  ack: WebhookAck;
  received: number;
  duplicates: number;
}

const MAX_INBOX_ATTEMPTS = 8;
/**
 * Events applied per transaction. Small on purpose: SQLite has one writer and better-sqlite3 runs a transaction
 * without yielding, so an acknowledgement waits for the transaction in progress; 20 events take ~10 ms.
 */
const INBOX_BATCH = 10;

@Injectable()
export class WebhookInboxService {
  private readonly log = new Logger('WebhookInbox');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly connections: ConnectionsService,
    private readonly registry: ConnectorRegistry,
    private readonly syncs: SyncsService,
    private readonly inbound: InboundService,
    private readonly outbox: OutboxService,
    private readonly writer: CustomerWriter,
    // Events carry raw vendor records (emails, names): sealed at rest.
    @Optional() private readonly pii?: PiiCodec,
    @Optional() private readonly duplicates?: DuplicateDetector,
    @Optional() private readonly queue?: JobQueue,
  ) {}

  /** Verifies and stores a delivery; throws WebhookVerificationError for forged, stale or malformed ones. */
  async receive(connectionId: string, request: WebhookRequest): Promise<ReceiveResult> {
    const ctx = await this.connections.context(connectionId);
    const connector = this.registry.get(ctx.connector);
    const handler = connector.webhooks;
    if (!handler) throw new NotFoundException(`connector "${ctx.connector}" does not receive webhooks`);
    handler.verify(ctx, request);
    const events = handler.parse(ctx, request);
    const now = this.clock.nowIso();
    const unique = new Map<string, WebhookEvent>();
    for (const e of events) unique.set(e.eventId, e);
    const inserted = await this.store(
      [...unique.values()].map((e) => [
        connectionId,
        e.eventId,
        e.type,
        this.pii ? this.pii.sealText(JSON.stringify(e)) : JSON.stringify(e),
        now,
        now,
      ]),
    );
    const ack = handler.ack?.(events) ?? {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ ok: true }),
    };
    return { ack, received: inserted, duplicates: events.length - inserted };
  }

  /**
   * Group commit: deliveries arriving together are stored in one transaction, so under load an acknowledgement
   * waits for one short write instead of queueing one transaction per request behind the single SQLite writer.
   * The batch is taken when the transaction starts, not when it is queued: every delivery that arrives while the
   * writer is busy joins the next write (one queued transaction per request made each wait for all the others).
   */
  private storeQueue: { rows: unknown[][]; resolve: (n: number) => void; reject: (e: unknown) => void }[] =
    [];
  private storeQueued = false;

  private store(rows: unknown[][]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.storeQueue.push({ rows, resolve, reject });
      if (!this.storeQueued) {
        this.storeQueued = true;
        void this.flushStore();
      }
    });
  }

  private async flushStore(): Promise<void> {
    let batch: typeof this.storeQueue | undefined;
    try {
      const counts = await this.db.transaction(
        async (tx) => {
          // Taken once: a retried transaction (PostgreSQL conflict) writes the same batch again.
          if (!batch) {
            batch = this.storeQueue;
            this.storeQueue = [];
            this.storeQueued = false;
          }
          const out: number[] = [];
          for (const req of batch) {
            let n = 0;
            for (const row of req.rows) {
              n += await tx.execute(
                `INSERT INTO webhook_inbox (connection, event_id, event_type, event, status, attempts, received_at, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (connection, event_id) DO NOTHING`,
                row,
              );
            }
            out.push(n);
          }
          return out;
        },
        20,
        // Waits on nothing but the inbox file: see inboxFileOf in store/data-source.ts.
        { urgent: true, scope: 'inbox' },
      );
      batch!.forEach((req, i) => req.resolve(counts[i]));
    } catch (err) {
      if (!batch) {
        // Failed before it started (the database is closing): fail what was waiting for it.
        batch = this.storeQueue;
        this.storeQueue = [];
        this.storeQueued = false;
      }
      batch.forEach((req) => req.reject(err));
    }
  }

  async pendingConnections(): Promise<string[]> {
    const rows = await this.db.query(
      "SELECT DISTINCT connection FROM webhook_inbox WHERE status = 'pending' AND next_attempt_at <= ?",
      [this.clock.nowIso()],
    );
    return rows.map((r) => r.connection as string);
  }

  /** Processes due inbox events of one connection; returns counts. Safe to run concurrently with itself. */
  async process(connectionId: string, limit = INBOX_BATCH): Promise<RunCounts> {
    const counts = emptyCounts();
    const rows = await this.db.query(
      "SELECT event_id, event, attempts FROM webhook_inbox WHERE connection = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY received_at, event_id LIMIT " +
        Math.min(limit, 5000),
      [connectionId, this.clock.nowIso()],
    );
    if (!rows.length) return counts;
    const events = rows.map(
      (r) => JSON.parse(this.pii ? this.pii.openText(r.event) : r.event) as WebhookEvent,
    );
    const ids = rows.map((r) => r.event_id as string);
    try {
      addCounts(counts, await this.apply(connectionId, events, ids));
    } catch (err) {
      const attempts = Number(rows[0].attempts) + 1;
      const dead = attempts >= MAX_INBOX_ATTEMPTS;
      const delay =
        isConnectorError(err) && err.retryAfterMs ? err.retryAfterMs : Math.min(60_000, 500 * 2 ** attempts);
      const next = new Date(this.clock.now().getTime() + delay).toISOString();
      const message = redactText(
        isConnectorError(err) ? `${err.code}: ${err.message}` : (err as Error).message,
      );
      this.log.warn(`inbox processing for ${connectionId} failed (attempt ${attempts}): ${message}`);
      await this.db.transaction(
        (tx) =>
          tx.execute(
            `UPDATE webhook_inbox SET attempts = ?, status = ?, next_attempt_at = ?, last_error = ? WHERE connection = ? AND event_id IN (${ids.map(() => '?').join(',')})`,
            [attempts, dead ? 'failed' : 'pending', next, message, connectionId, ...ids],
          ),
        20,
        { scope: 'inbox' },
      );
      throw err;
    }
    return counts;
  }

  private async apply(connectionId: string, events: WebhookEvent[], eventIds: string[]): Promise<RunCounts> {
    const ctx = await this.connections.context(connectionId);
    const connector = this.registry.get(ctx.connector);
    const counts = emptyCounts();
    const byObject = new Map<string, WebhookEvent[]>();
    for (const e of events) {
      if (!byObject.has(e.object)) byObject.set(e.object, []);
      byObject.get(e.object)!.push(e);
    }
    // Fetch current state for partial events before the transaction (vendor I/O never holds a write lock).
    const fetched = new Map<string, VendorRecord>();
    for (const [object, list] of byObject) {
      const partialIds = [
        ...new Set(
          list
            .filter((e) => e.type === WebhookEventType.Upsert && e.partial && e.externalId)
            .map((e) => e.externalId!),
        ),
      ];
      if (partialIds.length)
        for (const r of await connector.readByIds(ctx, object, partialIds))
          fetched.set(`${object}\u0000${r.id}`, r);
    }
    const syncs = (await this.syncs.list()).filter((s) => !s.paused);
    const destinations = new Set<string>();
    const actor = { type: ActorType.Webhook, id: `${connectionId}:${eventIds[0]}` };
    await this.db.transaction(async (tx) => {
      for (const [object, list] of byObject) {
        const syncDefs = syncs
          .filter(
            (s) => s.definition.source.connection === connectionId && s.definition.source.object === object,
          )
          .map((s) => s.definition);
        syncDefs.forEach((s) =>
          s.destinations.forEach((d) => destinations.add(`${d.connection}\u0000${d.object}`)),
        );
        // Latest event per record: the merge rules would also refuse older values, this just saves work.
        const records = new Map<string, VendorRecord>();
        const deleted = new Set<string>();
        for (const e of list) {
          if (e.type === WebhookEventType.Delete && e.externalId) {
            deleted.add(e.externalId);
            records.delete(e.externalId);
          } else if (e.type === WebhookEventType.Upsert && e.externalId) {
            const r = e.partial
              ? fetched.get(`${object}\u0000${e.externalId}`)
              : { id: e.externalId, data: e.record ?? {}, modifiedAt: e.occurredAt };
            if (r) records.set(e.externalId, r);
          }
        }
        const upserts = [...records.values()];
        if (upserts.length || deleted.size) {
          addCounts(
            counts,
            await this.inbound.processPage(tx, upserts, [...deleted], {
              connection: ctx,
              connector,
              object,
              syncs: syncDefs,
              actor,
              correlationId: `webhook:${connectionId}:${eventIds[0]}`,
            }),
          );
        }
        const consent = list.filter((e) => e.type === WebhookEventType.Consent && e.email && e.fields);
        if (consent.length)
          addCounts(counts, await this.applyConsent(tx, connectionId, object, consent, destinations));
      }
    });
    // Marked processed after the changes commit, in a transaction of its own: on SQLite the inbox is a file of its
    // own and this keeps its write lock, which acknowledgements wait for, to a moment. Should the process stop in
    // between, the events are applied again, which changes nothing (the merge rules keep what is already there).
    const now = this.clock.nowIso();
    await this.db.transaction(
      async (tx) => {
        for (let i = 0; i < eventIds.length; i += 500) {
          const slice = eventIds.slice(i, i + 500);
          await tx.execute(
            `UPDATE webhook_inbox SET status = 'processed', processed_at = ?, last_error = NULL WHERE connection = ? AND event_id IN (${slice.map(() => '?').join(',')}) AND status = 'pending'`,
            [now, connectionId, ...slice],
          );
        }
      },
      20,
      { scope: 'inbox' },
    );
    // Duplicates first (the outbox holds back customers awaiting detection), then the push. Failures leave the
    // customers pending for the background sweep.
    if (destinations.size)
      await this.duplicates
        ?.detectFor(actor)
        .catch((e) => this.log.warn(`duplicate detection failed: ${(e as Error).message}`));
    // The push is a job of its own: the next inbox batch is applied while this one travels to the vendor (a
    // drain waits on the vendor's answer and its import job), and pushes queued meanwhile go out together.
    for (const d of destinations) {
      const [connection, object] = d.split('\u0000');
      if (this.queue)
        await this.queue.add(
          JobName.DrainOutbox,
          { connection, object },
          { jobId: `drain:${connection}:${object}` },
        );
      else
        await this.outbox
          .drain(connection, object)
          .catch((e) => this.log.warn(`drain of ${connection}/${object} failed: ${(e as Error).message}`));
    }
    return counts;
  }

  /**
   * Consent and deliverability events (an ESP's unsubscribe, spam report, bounce) are keyed on email. They apply to
   * the customer with that email and flow to every other system holding an identity of that customer.
   */
  private async applyConsent(
    tx: Parameters<Parameters<Database['transaction']>[0]>[0],
    connectionId: string,
    object: string,
    events: WebhookEvent[],
    destinations: Set<string>,
  ): Promise<Partial<RunCounts>> {
    const counts = emptyCounts();
    const keys = [
      ...new Set(events.map((e) => this.writer.emailKeyOf(e.email)).filter((k): k is string => !!k)),
    ];
    const owners = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 500) {
      const slice = keys.slice(i, i + 500);
      for (const r of await tx.query(
        `SELECT id, email_key FROM customers WHERE email_key IN (${slice.map(() => '?').join(',')}) AND merged_into IS NULL AND erased_at IS NULL`,
        slice,
      ))
        owners.set(r.email_key, r.id);
    }
    const records = events
      .map((e) => ({ e, customerId: owners.get(this.writer.emailKeyOf(e.email) ?? '') }))
      .filter((x): x is { e: WebhookEvent; customerId: string } => !!x.customerId)
      .map(({ e, customerId }) => ({
        customerId,
        identity: { connection: connectionId, object, externalId: e.eventId },
        change: { connection: connectionId, sourceTimestamp: e.occurredAt, fields: e.fields! },
      }));
    counts.read = events.length;
    counts.unchanged += events.length - records.length;
    const outcomes = await this.writer.apply(tx, records, {
      actor: { type: ActorType.Webhook, id: `${connectionId}:${events[0].eventId}` },
      correlationId: `webhook:${connectionId}:${events[0].eventId}`,
    });
    const changed = [...new Set(outcomes.filter((o) => o.changes.length).map((o) => o.customerId))];
    counts.updated += changed.length;
    counts.unchanged += outcomes.length - outcomes.filter((o) => o.changes.length).length;
    if (changed.length) {
      const targets = await tx.query(
        `SELECT DISTINCT connection, object, customer_id FROM customer_identities WHERE customer_id IN (${changed.map(() => '?').join(',')}) AND connection <> ?`,
        [...changed, connectionId],
      );
      const grouped = new Map<string, string[]>();
      for (const t of targets) {
        const k = `${t.connection}\u0000${t.object}`;
        if (!grouped.has(k)) grouped.set(k, []);
        grouped.get(k)!.push(t.customer_id);
      }
      for (const [k, ids] of grouped) {
        const [connection, obj] = k.split('\u0000');
        await this.outbox.enqueue(tx, connection, obj, ids, OutboxOp.Upsert, null);
        destinations.add(k);
      }
    }
    await this.inbound.writeOutcomes(
      tx,
      outcomes.map((o) => ({
        runId: null,
        syncId: null,
        customerId: o.customerId,
        connection: connectionId,
        object,
        externalId: null,
        direction: 'in',
        action: o.changes.length ? OutcomeAction.Updated : OutcomeAction.Unchanged,
        detail: o.changes.length ? { fields: o.changes.map((c) => c.field), reason: 'consent' } : null,
        mappingVersion: null,
        connectorVersion: null,
      })),
      this.clock.nowIso(),
    );
    return counts;
  }
}
