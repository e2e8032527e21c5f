// Fuzzy duplicate detection, as its own step beside the inbound path. An inbound page only records which
// customers it changed (identity_pending, in the page's transaction, so a crash loses nothing); the detector
// drains that set in batches, each in its own transaction: refresh the customers' blocking keys, compare each
// with the customers sharing the most keys (bounded), keep the best few pairs above the review floor as merge
// candidates, and merge at once above the auto threshold (in auto mode). Sync runs drain it beside their pages
// and wait for it before they finish; webhook processing and the background sweep enqueue it as a job.
//
// Keeping detection out of the page transaction matters for speed: comparing and loading neighbours costs more
// than applying the page itself, and on SQLite the page transaction holds the only writer.
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { ConflictException, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { ActorType, type Actor } from '../audit/audit.types';
import { EmailKeyer, PlainEmailKeyer } from '../canonical/customer-writer.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { BlindIndexEmailKeyer } from '../privacy/blind-index';
import { CustomerRepository } from '../store/customer.repository';
import { Database, type Tx } from '../store/database';
import { BACKSTOP_PAGES, WalCheckpointer } from '../store/wal-checkpointer';
import { queueForDetection } from './detection-queue';
import { DetectionPlanner, type DetectionPlan, type PendingRow, type PlannedPair } from './detection-planner';
import { DetectionThread } from './detection-thread';
import { CandidateStatus, MergeReason } from './identity.types';
import { MergeService, PairBusyError, type MergeOutcome } from './merge.service';

export interface DetectionSettings {
  mode: 'off' | 'review' | 'auto';
  autoThreshold: number;
  reviewFloor: number;
}

/**
 * Customers detected per transaction at most. Large on purpose: every commit rewrites the index pages it touched,
 * and block keys land on random pages, so on a large base fewer, larger commits write far less. Webhook bursts
 * leave small pending sets, so their batches stay small.
 */
const BATCH = 500;
/**
 * Cores from which `SYNCLINE_DETECTION_THREAD=auto` plans large drains on the detection thread: two, one for the
 * engine and one for the thread. On this project's 2-core benchmark machine (shared with the vendor sandboxes) the
 * thread made a 100,000-contact full sync ~1.2-1.45x faster. Until session 20 it was 4, because a 1,000,000-contact
 * sync peaked at ~320 MB with the thread, over the 300 MB the project holds itself to; smaller phone memos, the
 * engine keeping no profiles of the batches a long WAL hands back and 4 MB semi-spaces in `npm start` brought that
 * under 300 MB (ARCHITECTURE.md, "Decisions").
 */
export const AUTO_THREAD_CORES = 2;
/**
 * Customers awaiting detection from which `auto` hands a drain to the thread. A full sync's backlog grows by a
 * page at a time and passes this early; an incremental's 1,000 changes and webhook batches stay on the engine's
 * thread, where they were no slower (a plan's round trip and its check cost what the thread saves on them), and a
 * service that never sees a large backlog never starts the thread (~40-50 MB of peak memory).
 */
export const AUTO_THREAD_BACKLOG = 4_000;
/**
 * How long the detection thread may sit idle after a drain before it is closed (a later large drain starts a new
 * one in ~0.2 s). Its heap and page cache are ~40-50 MB of the process's peak: a full sync's pushes go on after
 * detection is done, and a service keeps running long after its first sync.
 */
const THREAD_IDLE_MS = 10_000;
/**
 * WAL frames (4 KB pages, ~400 MB: twice the engine's automatic checkpoint, BACKSTOP_PAGES) from which a drain plans
 * on the engine's thread instead of the detection thread, until the WAL has started over. Planning a long backlog,
 * the thread reads one snapshot after the next; a checkpoint never copies frames past a reader's snapshot, and the
 * WAL starts over only at a write that begins with every frame copied, so it grew without bound (4.2 GB beside a
 * 2.8 GB database, 400 s into a 1,000,000-contact sync, every engine commit past the backstop trying to
 * checkpoint). With no other reader, the engine's next commit copies it all and the WAL starts over; detection
 * goes on meanwhile, in the engine's batches.
 */
export const WAL_HANDBACK_FRAMES = 2 * BACKSTOP_PAGES;
/**
 * Batches planned on the detection thread are this many times larger: their transaction only writes (the reads
 * and the scoring were done on the thread), and each write waits its turn behind the engine's other
 * transactions (a page of a sync), so fewer, larger writes keep up with the pages.
 */
const THREAD_BATCH_FACTOR = 4;
/**
 * Batches a PostgreSQL drain runs side by side. A batch is two transactions with its scoring between them, each a
 * series of round trips; one at a time, a single process's detection went at the pace of those round trips, and
 * the backlog a full sync's read left (~43,000 at 100,000 contacts) took ~50 s after the read. Batches claim their
 * rows and lock their customers as a cluster's workers do, so running two at once is what two workers do.
 */
const PG_DRAIN_LANES = 2;
/** Customers per transaction of the background sweep's drain (see drain). */
export const BACKGROUND_BATCH = 50;
/**
 * How long a PostgreSQL batch's claim on its pending rows lasts: between its two transactions (see detectInTwo),
 * normally well under a second. The batch renews it every CLAIM_RENEW_MS while it works, so a slow batch (a large
 * one, a loaded machine) keeps its rows however long it takes; a worker that dies in between holds its customers'
 * pushes back this long at most, until a survivor's sweep takes the rows. It was 60 s without renewal.
 */
export const CLAIM_MS = 15_000;
/** How often a working batch renews its claim (see CLAIM_MS): three renewals fit in a claim, so one missed is no loss. */
export const CLAIM_RENEW_MS = 5_000;

export interface DetectionResult {
  processed: number;
  /** Pending rows of the batch left for a later one: their customers were held by another transaction. */
  skipped?: number;
  compared: number;
  candidates: number;
  merged: MergeOutcome[];
}

/** A drain's totals: counts only (a run's drain goes on for the whole run; its merges' changes would pile up). */
export interface DrainTotals {
  processed: number;
  compared: number;
  candidates: number;
  merged: number;
}

/** Block-key rows per DELETE of stale keys (a power of two: one cached statement text, see statement-shapes.ts). */
const MEMBER_CHUNK = 256;

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(',');

@Injectable()
export class DuplicateDetector implements OnModuleDestroy {
  private readonly log = new Logger('DuplicateDetector');
  readonly settings: DetectionSettings;
  /** One drain at a time in this process; across processes, PostgreSQL row locks split the pending set. */
  private draining: Promise<DrainTotals> | null = null;
  private again = false;
  /** Told after each committed batch of a drain (see onBatch). */
  private readonly batchListeners = new Set<() => void>();
  private batchSize = 0;
  /** Plans batches: whole on SQLite (in-memory, and the fallback), in two halves on PostgreSQL (detectInTwo). */
  private readonly planner: DetectionPlanner;
  /**
   * Plans drain batches on a thread of its own (SQLite files; see detection-thread.ts): started on first use,
   * closed when idle (undefined again), null where this process cannot have one.
   */
  private thread: DetectionThread | null | undefined;
  private threadIdle: NodeJS.Timeout | undefined;
  /** Whether the drain in progress planned on the thread (its end starts the idle timer). */
  private threadUsed = false;
  private readonly threadIdleMs = THREAD_IDLE_MS;
  private readonly autoThreadCores = AUTO_THREAD_CORES;
  private readonly walHandbackFrames = WAL_HANDBACK_FRAMES;
  private readonly claimMs = CLAIM_MS;
  private readonly claimRenewMs = CLAIM_RENEW_MS;
  /** Engine batches a drain ran instead of the thread's for a long WAL (see WAL_HANDBACK_FRAMES). */
  walHandbacks = 0;
  /**
   * Plans of the detection thread written (or detected again in their batch), or on PostgreSQL batches it scored,
   * and the thread's failures.
   */
  threadPlans = 0;
  threadFailures: string[] = [];
  /**
   * Counts the detection writes of this process that were not planned on the thread (a webhook's detectFor, a
   * fallback batch). A thread plan read before one of them committed may miss that batch's block keys, so it is
   * not written; its batch is detected in the transaction instead.
   */
  private epoch = 0;
  /** Who claims pending rows on PostgreSQL (see detectInTwo): this process, recognizable in the table. */
  private readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`.slice(-64);

  constructor(
    private readonly db: Database,
    private readonly customers: CustomerRepository,
    private readonly merges: MergeService,
    private readonly keyer: EmailKeyer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    @Optional() private readonly checkpointer?: WalCheckpointer,
  ) {
    this.settings = {
      mode: config.env.SYNCLINE_IDENTITY_MODE,
      autoThreshold: config.env.SYNCLINE_MERGE_AUTO_THRESHOLD,
      reviewFloor: Math.min(config.env.SYNCLINE_MERGE_REVIEW_FLOOR, config.env.SYNCLINE_MERGE_AUTO_THRESHOLD),
    };
    // Block keys go through the email keyer, so with PII encryption on they are keyed digests, not fragments of PII.
    this.planner = new DetectionPlanner((k) => keyer.key(k), customers.opener);
  }

  get enabled(): boolean {
    return this.settings.mode !== 'off';
  }

  /** Whether drain batches are planned on the detection thread (false until the first drain starts it). */
  get threaded(): boolean {
    return !!this.thread && !this.thread.failed;
  }

  /**
   * The thread this drain round plans on, if any: always with `on`; with `auto`, from AUTO_THREAD_CORES and only
   * for a backlog of AUTO_THREAD_BACKLOG customers or more (counted up to that, so the check stays cheap).
   */
  private async threadForDrain(): Promise<DetectionThread | null> {
    const wanted = this.config.env.SYNCLINE_DETECTION_THREAD;
    if (wanted === 'off' || this.thread === null) return null;
    if (wanted === 'auto') {
      // PostgreSQL: only when asked for (`on`). Its batches scored there were no faster on this 2-core machine
      // (100,000 contacts: 136-142 s against 140 s without it, with PG_DRAIN_LANES), for ~30 MB more peak memory:
      // a single process there waits on round trips more than on its own thread.
      if (os.availableParallelism() < this.autoThreadCores || this.db.dialect !== 'sqlite') return null;
      const [r] = await this.db.query(
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM identity_pending LIMIT ${AUTO_THREAD_BACKLOG}) p`,
      );
      if (Number(r.n) < AUTO_THREAD_BACKLOG) return null;
    }
    if (this.walLong()) {
      this.walHandbacks++;
      this.handingBack = true;
      return null;
    }
    clearTimeout(this.threadIdle);
    this.threadUsed = true;
    return this.detectionThread();
  }

  /**
   * The detection thread, where this process can have one: a SQLite file (not an in-memory database) or a
   * PostgreSQL URL, and keys the thread can rebuild.
   */
  private detectionThread(): DetectionThread | null {
    if (this.thread !== undefined) return this.thread;
    this.thread = null;
    const o = this.db.dataSource.options;
    const keyed = this.keyer instanceof BlindIndexEmailKeyer;
    const wanted = this.config.env.SYNCLINE_DETECTION_THREAD;
    const file =
      o.type === 'better-sqlite3' && typeof o.database === 'string' && o.database !== ':memory:'
        ? o.database
        : undefined;
    const postgres = o.type === 'postgres' && o.url ? { url: o.url, schema: o.schema } : undefined;
    if (
      wanted === 'off' ||
      !(file || postgres) ||
      // The thread rebuilds the keyer from the environment: the blind index, or the plain one (no encryption).
      !(keyed || this.keyer instanceof PlainEmailKeyer)
    )
      return null;
    try {
      this.thread = new DetectionThread({
        ...(file ? { file } : { postgres }),
        keyed,
        sealed: !!this.customers.opener,
        env: {
          NODE_ENV: this.config.env.NODE_ENV,
          SYNCLINE_ENCRYPTION_KEYS: this.config.env.SYNCLINE_ENCRYPTION_KEYS,
          SYNCLINE_BLIND_INDEX_KEY: this.config.env.SYNCLINE_BLIND_INDEX_KEY,
        },
      });
    } catch (err) {
      this.log.warn(`detection thread unavailable, detecting on this thread: ${(err as Error).message}`);
    }
    return this.thread;
  }

  /** After a drain: the thread, if running, is closed once it has been idle for threadIdleMs. */
  private closeThreadWhenIdle(): void {
    // A thread that failed stays as it is: the detector keeps detecting here rather than start one again.
    if (!this.thread || this.thread.failed) return;
    clearTimeout(this.threadIdle);
    this.threadIdle = setTimeout(() => {
      const t = this.thread;
      if (!t) return;
      // A drain on the engine's thread (a small backlog) may be running: the thread is idle all the same, but it
      // is closed between drains, so that a drain that wants it never finds it closing.
      if (this.draining) {
        this.closeThreadWhenIdle();
        return;
      }
      this.thread = undefined;
      void t.close();
    }, this.threadIdleMs);
    this.threadIdle.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.threadIdle);
    const t = this.thread;
    this.thread = null;
    await t?.close();
  }

  /** Records, in the caller's transaction, that these customers changed and need detection. */
  async enqueue(tx: Tx, customerIds: string[], actor: Actor): Promise<void> {
    if (!this.enabled || !customerIds.length) return;
    await queueForDetection(
      tx,
      [...new Set(customerIds)].map((id) => [id, actor] as const),
      this.clock.nowIso(),
    );
  }

  /** Resolves once `actor` has nothing pending, running `drain` (which may find rows other workers hold) meanwhile. */
  async waitFor(actor: Actor, drain: () => Promise<unknown>, timeoutMs = 10 * 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await drain();
      const [r] = await this.db.query(
        'SELECT COUNT(*) AS n FROM identity_pending WHERE actor_type = ? AND actor_id = ?',
        [actor.type, actor.id.slice(0, 128)],
      );
      if (!Number(r.n)) return;
      if (Date.now() > until)
        throw new Error(`duplicate detection of ${actor.type}:${actor.id} did not finish`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async hasPending(): Promise<boolean> {
    if (!this.enabled) return false;
    return (await this.db.query('SELECT customer_id FROM identity_pending LIMIT 1')).length > 0;
  }

  /**
   * Calls `listener` after each batch a drain of this process commits with customers in it, until the returned
   * function is called. A sync run pushes the customers a batch released from the outbox's hold (see
   * OutboxService.nextBatch) while the drain goes on: at the end of a read, one drain can take a backlog of tens of
   * thousands, and the pushes waiting behind it would otherwise go out only when it ends.
   */
  onBatch(listener: () => void): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  private batchCommitted(processed: number): void {
    if (processed) for (const listener of this.batchListeners) listener();
  }

  /**
   * Detects every pending customer, batch by batch, until none is left. Concurrent callers in this process share
   * one drain (a call during a drain makes it go round once more, so nothing enqueued meanwhile is left behind);
   * the drain then uses the largest batch any of them asked for.
   *
   * `batch`: customers per transaction. A sync run's drain uses large batches (fewer commits on a large base);
   * the background sweep asks for small ones (BACKGROUND_BATCH), because on SQLite a transaction holds the event
   * loop and every webhook acknowledgement waits for it: 500 customers took 150-330 ms in the webhook benchmark.
   * With the detection thread, a batch's transaction only writes what the thread planned.
   */
  drain(batch = BATCH): Promise<DrainTotals> {
    this.batchSize = Math.max(this.batchSize, batch);
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      const total: DrainTotals = { processed: 0, compared: 0, candidates: 0, merged: 0 };
      let threads = false;
      try {
        do {
          this.again = false;
          for (;;) {
            // Asked again before every batch here: a sync's pages keep coming while a drain works, and with `auto` the
            // backlog they leave is what hands the drain to the thread.
            this.handingBack = false;
            const thread = this.enabled ? await this.threadForDrain() : null;
            // A drain that is the thread's (it planned there, or a long WAL handed its batches back) keeps no
            // profiles on this thread for the batches it runs here, to its end: the thread keeps its own.
            threads ||= this.threadUsed || this.handingBack;
            this.planner.remembering = !threads;
            // SQLite: the thread plans whole batches. PostgreSQL: each batch below is scored on it.
            if (thread && !thread.failed && this.db.dialect === 'sqlite')
              await this.drainOnThread(thread, total);
            const size = this.batchSize;
            // PostgreSQL: batches side by side, as a cluster's workers run them (see PG_DRAIN_LANES).
            const lanes = this.db.dialect === 'postgres' ? PG_DRAIN_LANES : 1;
            // Both batches end before the drain goes on or fails: a failed one leaves no other running past it.
            const batch = (waitIfAllHeld: boolean) =>
              this.detectOnce(size, undefined, thread ?? undefined, waitIfAllHeld).then((r) => {
                this.batchCommitted(r.processed);
                return r;
              });
            // Side by side, a lane whose customers are all held by other transactions does not wait for them
            // (another lane may be making progress meanwhile). A drain that has detected nothing yet waits, in one
            // batch, so a drain always progresses; one that has leaves the held customers to a later drain, as a
            // single batch leaves its held customers when it takes others.
            const settled = await Promise.allSettled(Array.from({ length: lanes }, () => batch(lanes === 1)));
            const failed = settled.find((x) => x.status === 'rejected');
            if (failed) throw failed.reason;
            const results = settled.map((x) => (x as PromiseFulfilledResult<DetectionResult>).value);
            if (
              lanes > 1 &&
              !total.processed &&
              results.every((r) => !r.processed) &&
              results.some((r) => r.skipped)
            )
              results.push(await batch(true));
            let taken = 0;
            let merged = false;
            for (const r of results) {
              total.processed += r.processed;
              total.compared += r.compared;
              total.candidates += r.candidates;
              total.merged += r.merged.length;
              taken += r.processed + (r.skipped ?? 0);
              merged ||= r.merged.length > 0;
            }
            // Short batches mean the queue is empty, unless one merged: a merge queues its survivor again.
            if (taken < lanes * size && !merged) break;
          }
        } while (this.again);
      } finally {
        this.planner.remembering = true;
        this.draining = null;
        this.batchSize = 0;
        if (this.threadUsed) this.closeThreadWhenIdle();
        this.threadUsed = false;
      }
      if (total.merged) this.log.log(`auto-merged ${total.merged} duplicate pair(s)`);
      return total;
    })();
    return this.draining;
  }

  /**
   * Drains on the detection thread, pipelined: while one plan is written here, the thread makes the next (it
   * counts the plan being written as in flight, see DetectionThread.plan). Returns when a plan comes back empty,
   * or when the thread fails (the caller's loop then detects the rest on this thread).
   */
  private async drainOnThread(thread: DetectionThread, total: DrainTotals): Promise<void> {
    const request = () => {
      // A detection on this thread that commits after this point may be missing from the plan's snapshot.
      const epoch = this.epoch;
      const size = this.batchSize * THREAD_BATCH_FACTOR;
      return thread.plan(size, this.settings.reviewFloor).then((plan) => ({ plan, epoch, size }));
    };
    let next = request();
    for (;;) {
      let planned: Awaited<typeof next>;
      try {
        planned = await next;
      } catch (err) {
        this.log.warn(`detection thread failed, detecting on this thread: ${(err as Error).message}`);
        this.threadFailures.push((err as Error).message.slice(0, 500));
        return;
      }
      const { plan, epoch, size } = planned;
      if (!plan.pendingIds.length) return;
      // A long WAL: this plan is written, and the drain goes on in the engine's batches until the WAL starts over.
      const handback = this.walLong();
      if (!handback) {
        next = request();
        // Keeps the next plan's failure for the loop's next turn (not an unhandled rejection meanwhile).
        next.catch(() => undefined);
      }
      const r = await this.db.transaction(async (tx) =>
        epoch === this.epoch ? this.write(tx, plan, true) : this.detectBatch(tx, size),
      );
      thread.written(plan);
      this.threadPlans++;
      this.batchCommitted(r.processed);
      total.processed += r.processed;
      total.compared += r.compared;
      total.candidates += r.candidates;
      total.merged += r.merged.length;
      if (handback) {
        this.walHandbacks++;
        return;
      }
    }
  }

  /**
   * Whether the WAL is too long for the thread to go on reading (see WAL_HANDBACK_FRAMES), by the checkpoint
   * thread's last answer; a fresh one is asked for meanwhile. Never awaited: the checkpoint thread answers between
   * checkpoints, and one copying a long WAL back took hundreds of ms, each a delay of the next plan (the thread
   * then idled and detection trailed the read: 94.7 s for a 100,000 sync against 60-68 s).
   */
  private walLong(): boolean {
    const c = this.checkpointer;
    if (c?.active && !this.walAsking) {
      this.walAsking = true;
      void c
        .stats()
        .then((s) => (this.walFrames = s?.walFrames ?? 0))
        .finally(() => (this.walAsking = false));
    }
    return this.walFrames >= this.walHandbackFrames;
  }

  private walFrames = 0;
  private walAsking = false;
  /**
   * Whether this drain round's engine batch is one a long WAL handed back before the thread was asked (a handback
   * from drainOnThread needs no flag: that drain has used the thread).
   */
  private handingBack = false;

  /**
   * Detects now, in one transaction, the customers one actor (a webhook batch) left pending: its push is held
   * back until then, and it must not wait behind a drain that other traffic keeps busy.
   */
  async detectFor(actor: Actor): Promise<DetectionResult> {
    try {
      const total = await this.detectOnce(BATCH, actor);
      // A merge queued its survivor again (under the same actor): checked now too, so its push is not left for the
      // background sweep. Each round merges customers away, so this ends.
      for (let last = total; last.merged.length;) {
        last = await this.detectOnce(BATCH, actor);
        total.processed += last.processed;
        total.compared += last.compared;
        total.candidates += last.candidates;
        total.merged.push(...last.merged);
      }
      return total;
    } finally {
      // Once more after the commit: a thread plan requested while this ran must not be written (see epoch).
      this.epoch++;
    }
  }

  /**
   * One batch, as the database allows: one transaction on SQLite, two on PostgreSQL (see detectInTwo), scored on
   * `thread` there when given.
   */
  private detectOnce(
    limit: number,
    actor?: Actor,
    thread?: DetectionThread,
    waitIfAllHeld = true,
  ): Promise<DetectionResult> {
    return this.db.dialect === 'postgres'
      ? this.detectInTwo(limit, actor, thread, waitIfAllHeld)
      : this.db.transaction((tx) => this.detectBatch(tx, limit, actor));
  }

  /**
   * A batch on PostgreSQL, in two transactions, so that batches of several workers run side by side. Run in one
   * transaction, two batches would each write their block keys and look for neighbours before the other's keys are
   * committed, and miss each other (write skew: two customers created at once by two workers would both pass as
   * unique); a cluster-wide lock made them take turns, and detection was what a cluster waited for (~65% of a
   * 2-worker run had a session queued on that lock). Here the first transaction takes the pending rows (claimed
   * until CLAIM_MS from now, see the migration IdentityPendingClaims), writes the touched customers' key changes
   * and commits; only then does the second read neighbours (each statement sees what was committed before it
   * started), score, and write pairs, merges and the rows' removal. Of two batches sharing a key, whichever reads
   * later sees the other's keys, so the pair is found. The touched customers' rows are locked in the first
   * transaction, before they are read, so one customer's keys are written by one batch at a time from its latest
   * version (two batches holding two versions of one customer could otherwise each write half of a key change).
   * The second checks the plan like the detection thread's (`checked`): a customer changed in between is detected
   * again, one merged or erased is left out. With `thread` (a drain's, see detection-thread.ts), the scoring between
   * the two (reading neighbours, opening and comparing them) is done there, on a connection of its own, while this
   * thread goes on with its other work; the second transaction then only writes. A thread that fails leaves the
   * scoring to the second transaction, as without one.
   */
  private async detectInTwo(
    limit: number,
    actor?: Actor,
    thread?: DetectionThread,
    waitIfAllHeld = true,
  ): Promise<DetectionResult> {
    const none: DetectionResult = { processed: 0, compared: 0, candidates: 0, merged: [] };
    if (!this.enabled) return none;
    const claimed = await this.db.transaction(async (tx) => {
      const now = this.clock.nowIso();
      const pending = await tx.query<PendingRow>(
        `SELECT id, customer_id, actor_type, actor_id FROM identity_pending WHERE (claimed_until IS NULL OR claimed_until < ?)${
          actor ? ' AND actor_type = ? AND actor_id = ?' : ''
        } ORDER BY queued_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
        [now, ...(actor ? [actor.type, actor.id.slice(0, 128)] : [])],
      );
      if (!pending.length) return null;
      // Customers another transaction holds (a page updating them, a merge, a push settling) are left for a later
      // batch rather than waited for: waiting here, with the pending rows locked, queued batches behind each other
      // (~20% of a 4-worker run's sessions waited on this lock). Only when every one is held does the batch wait,
      // so a drain always progresses; a batch for one actor (detectFor) waits as before.
      const customerIds = [...new Set(pending.map((p) => p.customer_id))].sort();
      const lock = (skip: boolean) =>
        tx.query<{ id: string }>(
          `SELECT id FROM customers WHERE id IN (${placeholders(customerIds.length)}) ORDER BY id FOR NO KEY UPDATE${skip ? ' SKIP LOCKED' : ''}`,
          customerIds,
        );
      let taken = pending;
      if (actor) await lock(false);
      else {
        const locked = new Set((await lock(true)).map((r) => r.id));
        const missed = customerIds.filter((id) => !locked.has(id));
        // Of those not locked, the ones that exist are held by another transaction (one gone holds nothing).
        const held = new Set(
          missed.length
            ? (
                await tx.query<{ id: string }>(
                  `SELECT id FROM customers WHERE id IN (${placeholders(missed.length)})`,
                  missed,
                )
              ).map((r) => r.id)
            : [],
        );
        taken = pending.filter((p) => !held.has(p.customer_id));
        if (!taken.length) {
          // A drain's side-by-side batches leave it to the drain (see drain): another lane may be making progress.
          if (!waitIfAllHeld) return { k: undefined, skipped: pending.length };
          taken = pending;
          await lock(false);
        }
      }
      const rowIds = taken.map((p) => Number(p.id));
      await tx.execute(
        `UPDATE identity_pending SET claimed_by = ?, claimed_until = ? WHERE id IN (${placeholders(rowIds.length)})`,
        [this.owner, new Date(Date.parse(now) + this.claimMs).toISOString(), ...rowIds],
      );
      const k = await this.planner.keys(tx, taken);
      await this.writeKeys(tx, k.plan.added, k.plan.removed);
      return { k, skipped: pending.length - taken.length };
    });
    if (!claimed) return none;
    if (!claimed.k) return { ...none, skipped: claimed.skipped };
    const { k: keyed, skipped } = claimed;
    // Written and committed: what the second transaction reads includes them.
    keyed.edits = [];
    const renewal = this.renewClaims(keyed.plan.pendingIds);
    try {
      let scored = false;
      if (thread && !thread.failed && keyed.touched.length) {
        try {
          const plan = await thread.score(keyed, this.settings.reviewFloor);
          keyed.plan.pairs = plan.pairs;
          keyed.plan.compared = plan.compared;
          scored = true;
          this.threadPlans++;
        } catch (err) {
          this.log.warn(`detection thread failed, scoring on this thread: ${(err as Error).message}`);
          this.threadFailures.push((err as Error).message.slice(0, 500));
        }
      }
      const r = await this.db.transaction(async (tx) => {
        if (!scored) await this.planner.score(tx, keyed, this.settings.reviewFloor);
        return this.write(tx, { ...keyed.plan, added: [], removed: [] }, true, !actor);
      });
      return skipped ? { ...r, skipped } : r;
    } catch (err) {
      await renewal.stop();
      // The rows go back to the queue now rather than when the claim expires (their pushes wait until detected).
      const ids = keyed.plan.pendingIds;
      await this.db
        .transaction((tx) =>
          tx.execute(
            `UPDATE identity_pending SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ? AND id IN (${placeholders(ids.length)})`,
            [this.owner, ...ids],
          ),
        )
        .catch(() => undefined);
      throw err;
    } finally {
      await renewal.stop();
    }
  }

  /**
   * Keeps a batch's claim on its pending rows (see CLAIM_MS) until `stop`: every claimRenewMs, the rows this process
   * still claims get a new expiry. A renewal that finds the rows deleted (the batch's write committed) or claimed by
   * another process (this one stalled past the expiry) changes nothing. Rows locked meanwhile are skipped, not waited
   * for: the batch's own write locks them to delete them, and a renewal waiting on it, locking the rows in another
   * order, could deadlock with it. A failed renewal is logged and the next one tried: the claim lasts three
   * intervals.
   */
  private renewClaims(ids: number[]): { stop(): Promise<void> } {
    let inFlight: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      inFlight = inFlight.then(() =>
        this.db
          .transaction(
            (tx) =>
              tx.execute(
                `UPDATE identity_pending SET claimed_until = ? WHERE id IN (SELECT id FROM identity_pending WHERE claimed_by = ? AND id IN (${placeholders(ids.length)}) FOR UPDATE SKIP LOCKED)`,
                [new Date(this.clock.now().getTime() + this.claimMs).toISOString(), this.owner, ...ids],
              ),
            0,
          )
          .catch((err: Error) => this.log.warn(`renewing a detection claim failed: ${err.message}`)),
      );
    }, this.claimRenewMs);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await inFlight;
      },
    };
  }

  /**
   * One batch of pending customers (of one actor, when given) on SQLite, read and written in the caller's
   * transaction: one writer, so a batch sees every key an earlier one committed (PostgreSQL: detectInTwo). Plans of
   * the detection thread made before this batch are not written (see `epoch`).
   */
  private async detectBatch(tx: Tx, limit = BATCH, actor?: Actor): Promise<DetectionResult> {
    if (!this.enabled) return { processed: 0, compared: 0, candidates: 0, merged: [] };
    this.epoch++;
    const plan = await this.planner.plan(tx, limit, this.settings.reviewFloor, actor);
    return this.write(tx, plan, false);
  }

  /**
   * The writing half of a batch, in the caller's transaction: takes the pending rows, writes the block key
   * changes and the candidate pairs, and merges above the auto threshold. `checked`: the plan was read from an
   * earlier snapshot (the detection thread), so what it read is checked first: a touched customer changed since
   * is detected again (its keys and pairs are not written), and no pair with a customer merged away or erased
   * since is kept. `deferBusy` (PostgreSQL drains): an automatic merge whose pair another transaction holds is not
   * waited for; its touched customers are queued again, so a later batch scores the pair and merges it then.
   */
  async write(tx: Tx, plan: DetectionPlan, checked: boolean, deferBusy = false): Promise<DetectionResult> {
    const result: DetectionResult = {
      processed: plan.pendingIds.length,
      compared: plan.compared,
      candidates: 0,
      merged: [],
    };
    if (!plan.pendingIds.length) return result;
    // The rows taken, by id: a row queued meanwhile (the customer changed again) stays for the next batch.
    await tx.execute(
      `DELETE FROM identity_pending WHERE id IN (${placeholders(plan.pendingIds.length)})`,
      plan.pendingIds,
    );
    let { added, removed, pairs } = plan;
    if (checked) {
      const ids = new Set(plan.touched.map((t) => t.id));
      for (const p of pairs) ids.add(p.a).add(p.b);
      const heads = await this.customers.loadMatchHeads(tx, [...ids]);
      const gone = new Set<string>();
      const requeue = new Map<string, Actor>();
      for (const id of ids) {
        const h = heads.get(id);
        if (!h || h.mergedInto || h.erasedAt) {
          gone.add(id);
          this.planner.forget(id);
        }
      }
      for (const t of plan.touched)
        if (!gone.has(t.id) && heads.get(t.id)!.version !== t.version) {
          gone.add(t.id);
          requeue.set(t.id, t.actor);
        }
      if (gone.size) {
        added = added.filter(([, id]) => !gone.has(id));
        removed = removed.filter(([, id]) => !gone.has(id));
        pairs = pairs.filter((p) => !gone.has(p.a) && !gone.has(p.b));
      }
      // Changed since the plan read them: detected again from their new version (the change queued them too,
      // unless it was one that does not; queued twice, a customer is detected once).
      await queueForDetection(tx, requeue, this.clock.nowIso());
    }
    await this.writeKeys(tx, added, removed);
    if (!pairs.length) return result;
    const busy = await this.writePairs(tx, pairs, result, deferBusy);
    if (busy.length) {
      const touched = new Map(plan.touched.map((t) => [t.id, t.actor]));
      const again = new Map<string, Actor>();
      for (const p of busy) for (const id of [p.a, p.b]) if (touched.has(id)) again.set(id, touched.get(id)!);
      await queueForDetection(tx, again, this.clock.nowIso());
    }
    return result;
  }

  /** Block key changes of a batch in a few statements (an edited name changes keys of every customer edited). */
  private async writeKeys(tx: Tx, added: [string, string][], removed: [string, string][]): Promise<void> {
    const flat = removed.flat();
    for (let i = 0; i < flat.length; i += 2 * MEMBER_CHUNK) {
      const slice = flat.slice(i, i + 2 * MEMBER_CHUNK);
      await tx.execute(
        `DELETE FROM customer_block_keys WHERE (block_key, customer_id) IN (VALUES ${Array.from({ length: slice.length / 2 }, () => '(?, ?)').join(',')})`,
        slice,
      );
    }
    // In key order: the inserts then walk the primary key's pages in one direction (~15% faster than in plan order
    // with the same pages written, measured on a 100,000-customer store).
    await tx.insertMany(
      'customer_block_keys',
      ['block_key', 'customer_id'],
      [...added].sort(([k1, c1], [k2, c2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : c1 < c2 ? -1 : c1 > c2 ? 1 : 0)),
      'ON CONFLICT (block_key, customer_id) DO NOTHING',
    );
  }

  /** Candidate pairs set-wise, then the merges above the auto threshold. */
  private async writePairs(
    tx: Tx,
    planned: PlannedPair[],
    result: DetectionResult,
    deferBusy: boolean,
  ): Promise<PlannedPair[]> {
    const pairs = new Map(planned.map((p) => [`${p.a}\u0000${p.b}`, p]));
    const now = this.clock.nowIso();
    const existing = new Map<string, { id: number; status: string }>();
    const as = [...new Set([...pairs.values()].map((p) => p.a))];
    for (let i = 0; i < as.length; i += 500) {
      const slice = as.slice(i, i + 500);
      for (const r of await tx.query(
        `SELECT id, customer_a, customer_b, status FROM merge_candidates WHERE customer_a IN (${placeholders(slice.length)})`,
        slice,
      )) {
        const k = `${r.customer_a}\u0000${r.customer_b}`;
        if (pairs.has(k)) existing.set(k, { id: Number(r.id), status: r.status });
      }
    }
    const fresh: unknown[][] = [];
    const live: { key: string; p: PlannedPair }[] = [];
    for (const [k, p] of pairs) {
      const explanation = JSON.stringify({ fields: p.s.fields, cap: p.s.cap });
      const e = existing.get(k);
      // A decided pair (rejected, merged, undone) is never proposed again; a pending one gets its new score.
      if (e && e.status !== CandidateStatus.Pending) continue;
      if (e) {
        await tx.execute(
          'UPDATE merge_candidates SET score = ?, explanation = ?, block_key = ?, updated_at = ? WHERE id = ? AND status = ?',
          [p.s.score, explanation, p.key, now, e.id, CandidateStatus.Pending],
        );
      } else {
        fresh.push([
          p.a,
          p.b,
          p.s.score,
          explanation,
          p.key,
          CandidateStatus.Pending,
          null,
          null,
          null,
          now,
          now,
        ]);
      }
      live.push({ key: k, p });
    }
    await tx.insertMany(
      'merge_candidates',
      [
        'customer_a',
        'customer_b',
        'score',
        'explanation',
        'block_key',
        'status',
        'decided_by',
        'survivor_id',
        'snapshot',
        'created_at',
        'updated_at',
      ],
      fresh,
      'ON CONFLICT (customer_a, customer_b) DO NOTHING',
    );
    result.candidates = live.length;

    // 4. Auto-merge the pairs above the threshold (ids of the new rows read back for those only).
    const busy: PlannedPair[] = [];
    if (this.settings.mode !== 'auto') return busy;
    const auto = live.filter((l) => l.p.s.score >= this.settings.autoThreshold);
    for (const { key, p } of auto.sort((x, y) => y.p.s.score - x.p.s.score)) {
      let id = existing.get(key)?.id;
      if (id === undefined) {
        const [row] = await tx.query(
          'SELECT id FROM merge_candidates WHERE customer_a = ? AND customer_b = ?',
          [p.a, p.b],
        );
        id = Number(row.id);
      }
      try {
        const m = await this.merges.merge(
          tx,
          id,
          MergeReason.Automatic,
          p.actor.type ? p.actor : { type: ActorType.System, id: 'identity' },
          { ifFree: deferBusy },
        );
        if (m) result.merged.push(m);
      } catch (err) {
        if (err instanceof PairBusyError) busy.push(p);
        // Decided meanwhile by another worker's batch (checked before the merge writes anything): nothing to do.
        else if (!(err instanceof ConflictException)) throw err;
      }
    }
    return busy;
  }
}
