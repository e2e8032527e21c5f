// Fuzzy duplicate detection for the customers an inbound page touched: refresh their blocking keys, compare
// them with the customers sharing a key (bounded per key), and store pairs scoring above the review floor as
// merge candidates. Above the auto threshold (and in auto mode) the pair is merged at once. Runs in the
// inbound page's transaction, so a page and its merges commit together.
import { Injectable, Logger } from '@nestjs/common';
import { ActorType, type Actor } from '../audit/audit.types';
import { EmailKeyer } from '../canonical/customer-writer.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { CustomerRepository, type CustomerRow } from '../store/customer.repository';
import type { Tx } from '../store/database';
import { blockKeys } from './blocking';
import { CandidateStatus, MergeReason } from './identity.types';
import { MergeService, type MergeOutcome } from './merge.service';
import { scorePair } from './similarity';

export interface DetectionSettings {
  mode: 'off' | 'review' | 'auto';
  autoThreshold: number;
  reviewFloor: number;
}

/** Customers compared per block key at most: a huge block (a common surname) must not turn into a scan. */
const MAX_BLOCK = 50;

export interface DetectionResult {
  compared: number;
  candidates: number;
  merged: MergeOutcome[];
}

@Injectable()
export class DuplicateDetector {
  private readonly log = new Logger('DuplicateDetector');
  readonly settings: DetectionSettings;

  constructor(
    private readonly customers: CustomerRepository,
    private readonly merges: MergeService,
    private readonly keyer: EmailKeyer,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.settings = {
      mode: config.env.SYNCLINE_IDENTITY_MODE,
      autoThreshold: config.env.SYNCLINE_MERGE_AUTO_THRESHOLD,
      reviewFloor: Math.min(config.env.SYNCLINE_MERGE_REVIEW_FLOOR, config.env.SYNCLINE_MERGE_AUTO_THRESHOLD),
    };
  }

  /** Block keys go through the email keyer, so with PII encryption on they are keyed digests, not fragments of PII. */
  private storedKeys(c: CustomerRow): string[] {
    return [...new Set(blockKeys(c.fields).map((k) => this.keyer.key(`block:${k}`).slice(0, 128)))];
  }

  /** The inbound hook: detect (and maybe merge) duplicates of the customers a page touched. */
  async afterInbound(tx: Tx, customerIds: string[], actor: Actor): Promise<DetectionResult> {
    const result: DetectionResult = { compared: 0, candidates: 0, merged: [] };
    if (this.settings.mode === 'off' || !customerIds.length) return result;
    const touched = [...(await this.customers.loadMany(tx, [...new Set(customerIds)])).values()].filter(
      (c) => !c.mergedInto && !c.erasedAt,
    );
    const keysOf = new Map<string, string[]>();
    for (const c of touched) keysOf.set(c.id, this.storedKeys(c));
    for (let i = 0; i < touched.length; i += 500) {
      const ids = touched.slice(i, i + 500).map((c) => c.id);
      await tx.execute(
        `DELETE FROM customer_block_keys WHERE customer_id IN (${ids.map(() => '?').join(',')})`,
        ids,
      );
    }
    await tx.insertMany(
      'customer_block_keys',
      ['block_key', 'customer_id'],
      touched.flatMap((c) => keysOf.get(c.id)!.map((k) => [k, c.id])),
      'ON CONFLICT (block_key, customer_id) DO NOTHING',
    );

    const now = this.clock.nowIso();
    const toMerge: number[] = [];
    // One lookup per chunk of block keys for the whole page (not one per customer and key), capped per key.
    const allKeys = [...new Set([...keysOf.values()].flat())];
    const members = new Map<string, string[]>();
    for (let i = 0; i < allKeys.length; i += 500) {
      const slice = allKeys.slice(i, i + 500);
      for (const r of await tx.query(
        `SELECT block_key, customer_id FROM customer_block_keys WHERE block_key IN (${slice.map(() => '?').join(',')}) ORDER BY block_key, customer_id`,
        slice,
      )) {
        const list = members.get(r.block_key) ?? [];
        if (list.length <= MAX_BLOCK) list.push(r.customer_id);
        members.set(r.block_key, list);
      }
    }
    const othersOf = new Map<string, Map<string, string>>();
    const everyone = new Set<string>();
    for (const c of touched) {
      const others = new Map<string, string>();
      for (const key of keysOf.get(c.id)!) {
        for (const id of members.get(key) ?? []) {
          if (id !== c.id && !others.has(id)) {
            others.set(id, key);
            everyone.add(id);
          }
        }
      }
      if (others.size) othersOf.set(c.id, others);
    }
    const loaded = everyone.size
      ? await this.customers.loadMany(tx, [...everyone])
      : new Map<string, CustomerRow>();
    for (const c of touched) {
      const others = othersOf.get(c.id);
      if (!others) continue;
      for (const [otherId, key] of others) {
        const o = loaded.get(otherId);
        if (!o || o.mergedInto || o.erasedAt) continue;
        result.compared++;
        const s = scorePair(c.fields, o.fields);
        if (!s || s.score < this.settings.reviewFloor) continue;
        const [a, b] = c.id < o.id ? [c.id, o.id] : [o.id, c.id];
        // A decided pair (rejected, merged, undone) is never proposed again; a pending one gets its new score.
        await tx.execute(
          'UPDATE merge_candidates SET score = ?, explanation = ?, block_key = ?, updated_at = ? WHERE customer_a = ? AND customer_b = ? AND status = ?',
          [
            s.score,
            JSON.stringify({ fields: s.fields, cap: s.cap }),
            key,
            now,
            a,
            b,
            CandidateStatus.Pending,
          ],
        );
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
          [
            [
              a,
              b,
              s.score,
              JSON.stringify({ fields: s.fields, cap: s.cap }),
              key,
              CandidateStatus.Pending,
              null,
              null,
              null,
              now,
              now,
            ],
          ],
          'ON CONFLICT (customer_a, customer_b) DO NOTHING',
        );
        const [row] = await tx.query(
          'SELECT id, status FROM merge_candidates WHERE customer_a = ? AND customer_b = ?',
          [a, b],
        );
        if (row?.status !== CandidateStatus.Pending) continue;
        result.candidates++;
        if (this.settings.mode === 'auto' && s.score >= this.settings.autoThreshold)
          toMerge.push(Number(row.id));
      }
    }
    for (const id of [...new Set(toMerge)]) {
      const m = await this.merges.merge(
        tx,
        id,
        MergeReason.Automatic,
        actor.type ? actor : { type: ActorType.System, id: 'identity' },
      );
      if (m) result.merged.push(m);
    }
    if (result.merged.length) this.log.log(`auto-merged ${result.merged.length} duplicate pair(s)`);
    return result;
  }
}
