// Re-keys the base after a release changed the blocking rules (BLOCKING_RULES_VERSION in blocking.ts). A customer
// detected again gets the keys of the rules in force (the planner compares the keys it computes with the stored
// ones and writes the difference), so re-keying is queuing every live customer for detection, a slice at a time:
// the same path, locks and thread as any change, and the duplicates the new rules can see are found on the way.
// The slices are paced by the pending queue (the next one only once detection has nearly caught up), so the syncs
// and webhooks that queue customers meanwhile are not held behind a million rows, and a crash or restart resumes
// from the recorded position. Driven by the background sweep (SyncSchedulerService), on one worker or many.
import { Injectable, Logger } from '@nestjs/common';
import { ActorType, type Actor } from '../audit/audit.types';
import { Clock } from '../common/clock';
import { Database } from '../store/database';
import { BLOCKING_RULES_VERSION } from './blocking';
import { queueForDetection } from './detection-queue';
import { DuplicateDetector } from './duplicate-detector.service';

/** Customers queued per step; the next step waits until fewer than this are pending. */
export const REKEY_SLICE = 2_000;

export const REKEY_ACTOR: Actor = { type: ActorType.System, id: 'block-key-rules' };

export type RekeyStep =
  /** The base is keyed by the rules in force (or detection is off). */
  | { state: 'current' }
  /** Detection has not caught up with what is queued; nothing queued this time. */
  | { state: 'waiting'; pending: number }
  /** A slice was queued (another worker may have queued it first: then `queued` is 0). */
  | { state: 'queued'; queued: number; through: string }
  /** Every live customer was queued: the base is recorded as keyed by the rules in force. */
  | { state: 'done'; version: number };

interface RulesRow {
  version: number | string;
  rekeyed_through: string | null;
}

@Injectable()
export class BlockKeyRules {
  private readonly log = new Logger('BlockKeyRules');

  constructor(
    private readonly db: Database,
    private readonly detector: DuplicateDetector,
    private readonly clock: Clock,
  ) {}

  /** The rules' version the stored keys were made by, and how far a re-keying has come. */
  async status(): Promise<{ version: number; current: number; rekeyedThrough: string | null }> {
    const r = await this.recorded();
    return {
      version: r ? Number(r.version) : BLOCKING_RULES_VERSION,
      current: BLOCKING_RULES_VERSION,
      rekeyedThrough: r?.rekeyed_through ?? null,
    };
  }

  /** The one row of block_key_rules (none before its migration ran). */
  private async recorded(): Promise<RulesRow | undefined> {
    const [r] = await this.db.query<RulesRow>(
      'SELECT version, rekeyed_through FROM block_key_rules WHERE id = 1',
    );
    return r;
  }

  /** What `GET /duplicate-detection` reports: the mode, the customers waiting, and where a re-keying stands. */
  async report(): Promise<{
    mode: string;
    pending: number;
    blockingRules: { version: number; current: number; rekeying: boolean; rekeyedThrough: string | null };
  }> {
    const [{ n }] = await this.db.query<{ n: number | string }>(
      'SELECT COUNT(DISTINCT customer_id) AS n FROM identity_pending',
    );
    const s = await this.status();
    return {
      mode: this.detector.settings.mode,
      pending: Number(n),
      blockingRules: { ...s, rekeying: this.detector.enabled && s.version < s.current },
    };
  }

  /** One step of a re-keying, if one is due: cheap when none is (one row read). */
  async step(slice = REKEY_SLICE): Promise<RekeyStep> {
    if (!this.detector.enabled) return { state: 'current' };
    const r = await this.recorded();
    if (!r || Number(r.version) >= BLOCKING_RULES_VERSION) return { state: 'current' };
    // Counted up to the slice only, in SQL: a backlog of a million rows costs no more than one of 2,000.
    const [{ n }] = await this.db.query<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM identity_pending LIMIT ${slice}) p`,
    );
    const pending = Number(n);
    if (pending >= slice) return { state: 'waiting', pending };
    const from = r.rekeyed_through;
    if (from === null)
      this.log.log(
        `blocking rules changed (version ${r.version} -> ${BLOCKING_RULES_VERSION}): every customer is detected again, ${slice} at a time, for its new block keys`,
      );
    return this.db.transaction(async (tx) => {
      const now = this.clock.nowIso();
      const ids = (
        await tx.query<{ id: string }>(
          `SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL${from === null ? '' : ' AND id > ?'} ORDER BY id LIMIT ${slice}`,
          from === null ? [] : [from],
        )
      ).map((c) => c.id);
      // Compare-and-set on the recorded position: of two workers stepping at once, one queues the slice.
      const where = `id = 1 AND version = ? AND ${from === null ? 'rekeyed_through IS NULL' : 'rekeyed_through = ?'}`;
      const whereParams = from === null ? [r.version] : [r.version, from];
      if (!ids.length) {
        const moved = await tx.execute(
          `UPDATE block_key_rules SET version = ?, rekeyed_through = NULL, updated_at = ? WHERE ${where}`,
          [BLOCKING_RULES_VERSION, now, ...whereParams],
        );
        if (moved)
          this.log.log(`every customer queued under blocking rules version ${BLOCKING_RULES_VERSION}`);
        return { state: 'done', version: BLOCKING_RULES_VERSION };
      }
      const through = ids[ids.length - 1];
      const moved = await tx.execute(
        `UPDATE block_key_rules SET rekeyed_through = ?, updated_at = ? WHERE ${where}`,
        [through, now, ...whereParams],
      );
      if (!moved) return { state: 'queued', queued: 0, through };
      // A customer already queued (a sync changed it) is queued once more: detected once, as any requeue.
      await queueForDetection(
        tx,
        ids.map((id) => [id, REKEY_ACTOR] as const),
        now,
      );
      return { state: 'queued', queued: ids.length, through };
    });
  }
}
