// GDPR/CCPA erasure. A request anonymizes the canonical data at once (irreversibly: values are dropped, not
// encrypted) and records one step per vendor identity; a sweep asks each vendor to delete its record for good
// (Connector.erase: past any recycle bin or archive; plain delete where that is already permanent), retries with
// back-off while a vendor fails, and completes the request when every step is confirmed. Everything is in the
// database, so a restart resumes where it stopped, and asking twice returns the same request.
import { randomUUID } from 'node:crypto';
import {
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { ActorType, AuditEntity, type Actor } from '../audit/audit.types';
import type { FieldChange } from '../canonical/merge-rules';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { isConnectorError } from '../connectors/connector-error';
import { engineThreadWanted } from '../queue/engine-thread';
import { ConnectorRegistry } from '../connectors/connector.registry';
import type { DeleteOutcome } from '../connectors/connector.types';
import { CustomerRepository } from '../store/customer.repository';
import { Database, type Row, type Tx } from '../store/database';
import { ConnectionsService } from '../sync/connections.service';
import { PiiCodec } from './pii-codec';
import { redactText } from './redact';

export enum ErasureStatus {
  Pending = 'pending',
  Completed = 'completed',
}

export enum ErasureStepStatus {
  Pending = 'pending',
  Confirmed = 'confirmed',
  /** The last attempt failed; retried at next_attempt_at. */
  Failed = 'failed',
}

export interface ErasureStepView {
  connection: string;
  object: string;
  externalId: string;
  status: ErasureStepStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  confirmedAt: string | null;
}

export interface ErasureView {
  id: string;
  customerId: string;
  status: ErasureStatus;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  steps: ErasureStepView[];
}

export interface SweepResult {
  attempted: number;
  confirmed: number;
  failed: number;
  completed: string[];
}

const IN = (n: number) => new Array(n).fill('?').join(',');
/** While a sweep calls a vendor its steps are leased this long, so a second process leaves them alone. */
const LEASE_MS = 120_000;
const MAX_BACKOFF_MS = 15 * 60_000;
const REDACTED_PAYLOAD = (requestId: string) => JSON.stringify({ redacted: 'erasure', erasureId: requestId });
const ERASED_EVENT = JSON.stringify({ erased: true });

@Injectable()
export class ErasureService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Erasure');
  private running: Promise<SweepResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly tables = new Map<string, boolean>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly customers: CustomerRepository,
    private readonly connections: ConnectionsService,
    private readonly registry: ConnectorRegistry,
    private readonly pii: PiiCodec,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.env.ERASURE_SWEEP_MS;
    // With the engine on its own thread, its context runs the sweep.
    if (every > 0 && !engineThreadWanted(this.config)) {
      this.timer = setInterval(
        () =>
          void this.processDue().catch((e) => this.log.warn(`erasure sweep failed: ${(e as Error).message}`)),
        every,
      );
      this.timer.unref();
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Creates the erasure request (or returns the existing one) and anonymizes the canonical data right away. */
  async request(customerId: string, actor: Actor): Promise<ErasureView> {
    let created = false;
    let id: string;
    // The inbox first, in a transaction of its own. On SQLite it is a file apart from the database
    // (store/data-source.ts) and the two commit separately: scrubbed first, a stop between the commits leaves a
    // scrubbed inbox and no request (asked again, it scrubs again), never a request whose inbox still holds the
    // person.
    await this.db.transaction(
      async (tx) => {
        const [existing] = await tx.query('SELECT id FROM erasure_requests WHERE customer_id = ?', [
          customerId,
        ]);
        if (existing) return;
        const person = await this.personOf(tx, customerId);
        if (person) await this.scrubInbox(tx, await this.needlesOf(tx, person.ids, person.identities));
      },
      20,
      { scope: 'inbox' },
    );
    try {
      id = await this.db.transaction(async (tx) => {
        const [existing] = await tx.query('SELECT id FROM erasure_requests WHERE customer_id = ?', [
          customerId,
        ]);
        if (existing) return existing.id as string;
        const person = await this.personOf(tx, customerId);
        if (!person) throw new NotFoundException(`customer ${customerId} not found`);
        const { ids, identities } = person;
        const requestId = randomUUID();
        const now = this.clock.nowIso();
        await tx.execute(
          'INSERT INTO erasure_requests (id, customer_id, status, actor, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
          [requestId, customerId, ErasureStatus.Pending, `${actor.type}:${actor.id}`.slice(0, 160), now, now],
        );
        await tx.insertMany(
          'erasure_steps',
          [
            'request_id',
            'connection',
            'object',
            'external_id',
            'status',
            'attempts',
            'next_attempt_at',
            'updated_at',
          ],
          identities.map((i) => [
            requestId,
            i.connection,
            i.object,
            i.external_id,
            ErasureStepStatus.Pending,
            0,
            now,
            now,
          ]),
        );
        await this.anonymize(tx, requestId, ids, identities, now);
        await this.audit.append(tx, [
          {
            actor,
            entityType: AuditEntity.Erasure,
            entityId: requestId,
            action: 'erasure.requested',
            payload: { customerId, steps: identities.length },
          },
        ]);
        created = true;
        return requestId;
      });
    } catch (err) {
      // Two concurrent requests for one customer (PostgreSQL): the unique index lets one win; return it.
      const code = (err as { driverError?: { code?: string } }).driverError?.code;
      if (code !== '23505') throw err;
      const [existing] = await this.db.query('SELECT id FROM erasure_requests WHERE customer_id = ?', [
        customerId,
      ]);
      id = existing.id;
    }
    if (created)
      void this.processDue().catch((e) => this.log.warn(`erasure sweep failed: ${(e as Error).message}`));
    return (await this.status(id))!;
  }

  async status(id: string): Promise<ErasureView | null> {
    const [r] = await this.db.query('SELECT * FROM erasure_requests WHERE id = ?', [id]);
    if (!r) return null;
    const steps = await this.db.query(
      'SELECT * FROM erasure_steps WHERE request_id = ? ORDER BY connection, object, external_id',
      [id],
    );
    return {
      id: r.id,
      customerId: r.customer_id,
      status: r.status,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      completedAt: r.completed_at ?? null,
      steps: steps.map((s) => ({
        connection: s.connection,
        object: s.object,
        externalId: s.external_id,
        status: s.status,
        attempts: Number(s.attempts),
        nextAttemptAt: s.status === ErasureStepStatus.Confirmed ? null : s.next_attempt_at,
        lastError: s.last_error ?? null,
        confirmedAt: s.confirmed_at ?? null,
      })),
    };
  }

  async statusOfCustomer(customerId: string): Promise<ErasureView | null> {
    const [r] = await this.db.query('SELECT id FROM erasure_requests WHERE customer_id = ?', [customerId]);
    return r ? this.status(r.id) : null;
  }

  /** One sweep over due steps; concurrent callers in this process share it. */
  processDue(options: { ignoreSchedule?: boolean } = {}): Promise<SweepResult> {
    if (!this.running) {
      this.running = this.sweep(options).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async sweep(options: { ignoreSchedule?: boolean }): Promise<SweepResult> {
    const result: SweepResult = { attempted: 0, confirmed: 0, failed: 0, completed: [] };
    const now = this.clock.now();
    const due = await this.db.query(
      `SELECT * FROM erasure_steps WHERE status <> 'confirmed'${options.ignoreSchedule ? '' : ' AND next_attempt_at <= ?'} ORDER BY next_attempt_at LIMIT 1000`,
      options.ignoreSchedule ? [] : [now.toISOString()],
    );
    const groups = new Map<string, Row[]>();
    for (const s of due) {
      const k = `${s.connection}\u0000${s.object}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(s);
    }
    for (const steps of groups.values()) {
      const claimed = await this.claim(steps, now);
      if (!claimed.length) continue;
      result.attempted += claimed.length;
      const { connection, object } = claimed[0];
      let outcomes: Map<string, DeleteOutcome>;
      let failure: string | null = null;
      let retryAfterMs: number | undefined;
      try {
        const ctx = await this.connections.context(connection);
        const connector = this.registry.get(ctx.connector);
        const ids = [...new Set(claimed.map((s) => s.external_id as string))];
        // Permanent deletion where the vendor's delete is only a recycle bin or an archive.
        const results = connector.erase
          ? await connector.erase(ctx, object, ids)
          : await connector.delete(ctx, object, ids);
        outcomes = new Map(results.map((o) => [o.externalId, o]));
      } catch (err) {
        outcomes = new Map();
        failure = isConnectorError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
        retryAfterMs = isConnectorError(err) ? err.retryAfterMs : undefined;
      }
      await this.db.transaction(async (tx) => {
        const at = this.clock.nowIso();
        for (const s of claimed) {
          const o = outcomes.get(s.external_id);
          const key = [s.request_id, s.connection, s.object, s.external_id];
          if (o && (o.status === 'deleted' || o.status === 'not-found')) {
            result.confirmed++;
            await tx.execute(
              "UPDATE erasure_steps SET status = 'confirmed', attempts = attempts + 1, last_error = NULL, confirmed_at = ?, updated_at = ? WHERE request_id = ? AND connection = ? AND object = ? AND external_id = ?",
              [at, at, ...key],
            );
            // The vendor no longer holds the record: the identity has nothing left to link.
            await tx.execute(
              'DELETE FROM customer_identities WHERE connection = ? AND object = ? AND external_id = ?',
              key.slice(1),
            );
            await tx.execute(
              'DELETE FROM destination_state WHERE connection = ? AND object = ? AND external_id = ?',
              key.slice(1),
            );
          } else {
            result.failed++;
            const attempts = Number(s.attempts) + 1;
            const reason = redactText(
              o?.error ? `${o.error.code}: ${o.error.message}` : (failure ?? 'connector returned no outcome'),
            ).slice(0, 500);
            const next = new Date(
              this.clock.now().getTime() + this.backoffMs(attempts, o?.error?.retryAfterMs ?? retryAfterMs),
            ).toISOString();
            await tx.execute(
              "UPDATE erasure_steps SET status = 'failed', attempts = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE request_id = ? AND connection = ? AND object = ? AND external_id = ?",
              [attempts, reason, next, at, ...key],
            );
          }
        }
      });
      if (failure)
        this.log.warn(
          `erasure: ${claimed.length} deletion(s) at ${connection}/${object} failed, will retry: ${failure.split(':')[0]}`,
        );
    }
    result.completed = await this.completeFinished();
    return result;
  }

  /** Leases the steps (pushes their next attempt out) unless another sweep took them first. */
  private async claim(steps: Row[], now: Date): Promise<Row[]> {
    const lease = new Date(now.getTime() + LEASE_MS).toISOString();
    return this.db.transaction(async (tx) => {
      const out: Row[] = [];
      for (const s of steps) {
        const n = await tx.execute(
          "UPDATE erasure_steps SET next_attempt_at = ? WHERE request_id = ? AND connection = ? AND object = ? AND external_id = ? AND status <> 'confirmed' AND next_attempt_at = ?",
          [lease, s.request_id, s.connection, s.object, s.external_id, s.next_attempt_at],
        );
        if (n === 1) out.push(s);
      }
      return out;
    });
  }

  private backoffMs(attempts: number, retryAfterMs?: number): number {
    const cap = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
    return Math.max(cap / 2 + Math.random() * (cap / 2), retryAfterMs ?? 0);
  }

  /** Requests whose every step is confirmed: remove the last links and write the proof of erasure. */
  private async completeFinished(): Promise<string[]> {
    const ready = await this.db.query(
      "SELECT id, customer_id, created_at FROM erasure_requests r WHERE status = 'pending' AND NOT EXISTS (SELECT 1 FROM erasure_steps s WHERE s.request_id = r.id AND s.status <> 'confirmed')",
    );
    const done: string[] = [];
    for (const r of ready) {
      await this.db.transaction(async (tx) => {
        const now = this.clock.nowIso();
        const n = await tx.execute(
          "UPDATE erasure_requests SET status = 'completed', completed_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
          [now, now, r.id],
        );
        if (n !== 1) return;
        const ids = [
          r.customer_id,
          ...(await tx.query('SELECT id FROM customers WHERE merged_into = ?', [r.customer_id])).map(
            (x) => x.id as string,
          ),
        ];
        await tx.execute(`DELETE FROM customer_identities WHERE customer_id IN (${IN(ids.length)})`, ids);
        await tx.execute(`DELETE FROM destination_state WHERE customer_id IN (${IN(ids.length)})`, ids);
        const steps = await tx.query(
          'SELECT connection, object, confirmed_at FROM erasure_steps WHERE request_id = ? ORDER BY connection, object',
          [r.id],
        );
        // Proof without personal data: which systems confirmed, and when.
        await this.audit.append(tx, [
          {
            actor: { type: ActorType.System, id: 'erasure-sweep' },
            entityType: AuditEntity.Erasure,
            entityId: r.id,
            action: 'erasure.completed',
            payload: {
              customerId: r.customer_id,
              requestedAt: r.created_at,
              deletions: steps.map((s) => ({
                connection: s.connection,
                object: s.object,
                confirmedAt: s.confirmed_at,
              })),
            },
          },
        ]);
        done.push(r.id);
      });
    }
    for (const id of done) this.log.log(`erasure ${id} completed`);
    return done;
  }

  /** The person's rows (the customer and every record merged into it) and their identities at vendors. */
  private async personOf(tx: Tx, customerId: string): Promise<{ ids: string[]; identities: Row[] } | null> {
    const [c] = await tx.query('SELECT id FROM customers WHERE id = ?', [customerId]);
    if (!c) return null;
    const ids = [
      customerId,
      ...(await tx.query('SELECT id FROM customers WHERE merged_into = ?', [customerId])).map(
        (r) => r.id as string,
      ),
    ];
    const identities = await tx.query(
      `SELECT DISTINCT connection, object, external_id FROM customer_identities WHERE customer_id IN (${IN(ids.length)})`,
      ids,
    );
    return { ids, identities };
  }

  /** What marks a stored vendor payload as the person's: their ids at vendors and their personal values. */
  private async needlesOf(tx: Tx, ids: string[], identities: Row[]): Promise<Set<string>> {
    const current = await this.customers.loadMany(tx, ids);
    const needles = new Set<string>(identities.map((i) => String(i.external_id).toLowerCase()));
    for (const c of current.values()) {
      for (const [f, v] of Object.entries(c.fields)) {
        if (this.pii.isPii(f) && typeof v === 'string' && v.trim().length >= 5)
          needles.add(v.trim().toLowerCase());
      }
    }
    return needles;
  }

  /** Drops every personal value the store holds about these customers (the webhook inbox is scrubbed before). */
  private async anonymize(
    tx: Tx,
    requestId: string,
    ids: string[],
    identities: Row[],
    now: string,
  ): Promise<void> {
    const current = await this.customers.loadMany(tx, ids);
    const marks = IN(ids.length);
    for (const c of current.values()) {
      await tx.execute(
        'UPDATE customers SET version = ?, email_key = NULL, fields = ?, provenance = ?, erased_at = ?, updated_at = ? WHERE id = ?',
        [c.version + 1, '{}', '{}', now, now, c.id],
      );
    }
    // History keeps which fields changed when, never the values.
    for (const v of await tx.query(
      `SELECT customer_id, version, changes FROM customer_versions WHERE customer_id IN (${marks})`,
      ids,
    )) {
      let fields: string[];
      try {
        fields = this.pii.openChanges(JSON.parse(v.changes)).map((ch: FieldChange) => ch.field);
      } catch {
        fields = [];
      }
      await tx.execute('UPDATE customer_versions SET changes = ? WHERE customer_id = ? AND version = ?', [
        JSON.stringify(fields.map((field) => ({ field, before: null, after: null }))),
        v.customer_id,
        v.version,
      ]);
    }
    await this.customers.insertVersions(
      tx,
      [...current.values()].map((c) => ({
        customerId: c.id,
        version: c.version + 1,
        changes: [],
        cause: { erasure: requestId },
        at: now,
      })),
    );
    // Pseudonymize the audit trail: the chain covers digests only, and redacted entries skip the digest check.
    await tx.execute(
      `UPDATE audit_entries SET payload = ?, salt = NULL, redacted_at = ? WHERE entity_type = ? AND entity_id IN (${marks}) AND redacted_at IS NULL`,
      [REDACTED_PAYLOAD(requestId), now, AuditEntity.Customer, ...ids],
    );
    await tx.execute(
      `UPDATE outbox SET status = 'cancelled', last_error = NULL, updated_at = ? WHERE customer_id IN (${marks})`,
      [now, ...ids],
    );
    await tx.execute(`UPDATE record_outcomes SET detail = NULL WHERE customer_id IN (${marks})`, ids);
    for (const i of identities) {
      await tx.execute('DELETE FROM quarantine WHERE connection = ? AND object = ? AND external_id = ?', [
        i.connection,
        i.object,
        i.external_id,
      ]);
    }
    // Derived data of the identity module (blocking keys, merge candidates with snapshots), when installed.
    if (await this.hasTable('customer_block_keys'))
      await tx.execute(`DELETE FROM customer_block_keys WHERE customer_id IN (${marks})`, ids);
    if (await this.hasTable('merge_candidates')) {
      await tx.execute(
        `DELETE FROM merge_candidates WHERE customer_a IN (${marks}) OR customer_b IN (${marks})`,
        [...ids, ...ids],
      );
    }
  }

  /** Webhook events are raw vendor payloads: any that mention the person are blanked and never processed. */
  private async scrubInbox(tx: Tx, needles: Set<string>): Promise<void> {
    if (!needles.size) return;
    let after = '';
    let afterConn = '';
    for (;;) {
      const rows = await tx.query(
        'SELECT connection, event_id, event FROM webhook_inbox WHERE connection > ? OR (connection = ? AND event_id > ?) ORDER BY connection, event_id LIMIT 1000',
        [afterConn, afterConn, after],
      );
      for (const r of rows) {
        if (r.event === ERASED_EVENT) continue;
        let text: string;
        try {
          text = this.pii.openText(r.event).toLowerCase();
        } catch {
          continue;
        }
        for (const n of needles) {
          if (text.includes(n)) {
            await tx.execute(
              "UPDATE webhook_inbox SET event = ?, status = 'erased', last_error = NULL WHERE connection = ? AND event_id = ?",
              [ERASED_EVENT, r.connection, r.event_id],
            );
            break;
          }
        }
      }
      if (rows.length < 1000) break;
      afterConn = rows[rows.length - 1].connection;
      after = rows[rows.length - 1].event_id;
    }
  }

  private async hasTable(name: string): Promise<boolean> {
    let known = this.tables.get(name);
    if (known === undefined) {
      const runner = this.db.dataSource.createQueryRunner();
      try {
        known = await runner.hasTable(name);
      } finally {
        await runner.release();
      }
      this.tables.set(name, known);
    }
    return known;
  }
}
