// Fuzzy duplicate detection, as its own step beside the inbound path. An inbound page only records which
// customers it changed (identity_pending, in the page's transaction, so a crash loses nothing); the detector
// drains that set in batches, each in its own transaction: refresh the customers' blocking keys, compare each
// with the customers sharing the most keys (bounded), keep the best few pairs above the review floor as merge
// candidates, and merge at once above the auto threshold (in auto mode). Sync runs drain it beside their pages
// and wait for it before they finish; webhook processing and the background sweep enqueue it as a job.
//
// Keeping detection out of the page transaction matters for speed: comparing and loading neighbours costs more
// than applying the page itself, and on SQLite the page transaction holds the only writer.
import { ConflictException, Injectable, Logger } from '@nestjs/common';
import { ActorType, type Actor } from '../audit/audit.types';
import { EmailKeyer } from '../canonical/customer-writer.service';
import { BoundedMemo } from '../common/bounded-memo';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { CustomerRepository, type MatchHead } from '../store/customer.repository';
import { Database, type Tx } from '../store/database';
import { pow2Pieces } from '../store/statement-shapes';
import { blockKeysOf } from './blocking';
import { CandidateStatus, MergeReason } from './identity.types';
import { MergeService, type MergeOutcome } from './merge.service';
import { matchProfile, scoreProfiles, type MatchProfile, type MatchScore } from './similarity';

export interface DetectionSettings {
  mode: 'off' | 'review' | 'auto';
  autoThreshold: number;
  reviewFloor: number;
}

/** Customers read per block key at most: a huge block (a common surname) must not turn into a scan. */
const MAX_BLOCK = 50;
/** Block keys per neighbour lookup on SQLite (at most 500 terms in a compound SELECT; a power of two, see pieces). */
const MEMBER_CHUNK = 256;
/**
 * Customers compared per touched customer at most, those sharing the most block keys first: a true duplicate
 * shares several keys (phone, mailbox, name and company), a namesake only one.
 */
const MAX_COMPARED = 16;
/** Block keys built from a phone number or an email local part (blocking.ts prefixes). */
const STRONG_KEY = /^[pe]:/;
/** A name block this small is compared in full (the customer itself included). */
const SMALL_BLOCK = 4;
/** Candidate pairs kept per touched customer: the best ones; the rest would only bury the review queue. */
const MAX_CANDIDATES = 3;
/**
 * Customers detected per transaction at most. Large on purpose: every commit rewrites the index pages it touched,
 * and block keys land on random pages, so on a large base fewer, larger commits write far less. Webhook bursts
 * leave small pending sets, so their batches stay small.
 */
const BATCH = 500;
/**
 * Match profiles kept between batches, by customer id and version. Neighbours are mostly the same customers over
 * and over (the members of common-name blocks); a hit saves reading, decrypting and normalizing their fields.
 * A changed customer has a new version, so a stale profile is never used. ~300 bytes each; up to twice this many.
 */
const PROFILE_CACHE = 10_000;
/** Customers per transaction of the background sweep's drain (see drain). */
export const BACKGROUND_BATCH = 50;

interface Pair {
  a: string;
  b: string;
  s: MatchScore;
  key: string;
  actor: Actor;
}

export interface DetectionResult {
  processed: number;
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

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(',');

@Injectable()
export class DuplicateDetector {
  private readonly log = new Logger('DuplicateDetector');
  readonly settings: DetectionSettings;
  /** One drain at a time in this process; across processes, PostgreSQL row locks split the pending set. */
  private draining: Promise<DrainTotals> | null = null;
  private again = false;
  private batchSize = 0;
  private readonly profileCache = new BoundedMemo<string, { version: number; profile: MatchProfile }>(
    PROFILE_CACHE,
  );

  constructor(
    private readonly db: Database,
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

  get enabled(): boolean {
    return this.settings.mode !== 'off';
  }

  /** Block keys go through the email keyer, so with PII encryption on they are keyed digests, not fragments of PII. */
  private storedKeys(p: MatchProfile, strong: Set<string>): string[] {
    const out = new Set<string>();
    for (const k of blockKeysOf(p)) {
      const stored = this.keyer.key(`block:${k}`).slice(0, 128);
      out.add(stored);
      // Stored keys built from a phone number or a mailbox (see blocking.ts) are evidence on their own.
      if (STRONG_KEY.test(k)) strong.add(stored);
    }
    return [...out];
  }

  private remember(id: string, version: number, profile: MatchProfile): MatchProfile {
    this.profileCache.set(id, { version, profile });
    return profile;
  }

  /** Records, in the caller's transaction, that these customers changed and need detection. */
  async enqueue(tx: Tx, customerIds: string[], actor: Actor): Promise<void> {
    if (!this.enabled || !customerIds.length) return;
    const now = this.clock.nowIso();
    // Appended, never merged with a row already queued: that row may be in a detection batch right now (locked on
    // PostgreSQL), and waiting on it deadlocked against the batch's merges. A customer queued twice is detected once.
    await tx.insertMany(
      'identity_pending',
      ['customer_id', 'actor_type', 'actor_id', 'queued_at'],
      [...new Set(customerIds)].map((id) => [id, actor.type, actor.id.slice(0, 128), now]),
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
   * Detects every pending customer, batch by batch, until none is left. Concurrent callers in this process share
   * one drain (a call during a drain makes it go round once more, so nothing enqueued meanwhile is left behind);
   * the drain then uses the largest batch any of them asked for.
   *
   * `batch`: customers per transaction. A sync run's drain uses large batches (fewer commits on a large base);
   * the background sweep asks for small ones (BACKGROUND_BATCH), because on SQLite a transaction holds the event
   * loop and every webhook acknowledgement waits for it: 500 customers took 150-330 ms in the webhook benchmark.
   */
  drain(batch = BATCH): Promise<DrainTotals> {
    this.batchSize = Math.max(this.batchSize, batch);
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      const total: DrainTotals = { processed: 0, compared: 0, candidates: 0, merged: 0 };
      try {
        do {
          this.again = false;
          for (;;) {
            const size = this.batchSize;
            const r = await this.db.transaction((tx) => this.detectBatch(tx, size));
            total.processed += r.processed;
            total.compared += r.compared;
            total.candidates += r.candidates;
            total.merged += r.merged.length;
            if (r.processed < size) break;
          }
        } while (this.again);
      } finally {
        this.draining = null;
        this.batchSize = 0;
      }
      if (total.merged) this.log.log(`auto-merged ${total.merged} duplicate pair(s)`);
      return total;
    })();
    return this.draining;
  }

  /**
   * Detects now, in one transaction, the customers one actor (a webhook batch) left pending: its push is held
   * back until then, and it must not wait behind a drain that other traffic keeps busy.
   */
  async detectFor(actor: Actor): Promise<DetectionResult> {
    return this.db.transaction((tx) => this.detectBatch(tx, BATCH, actor));
  }

  /** One batch of pending customers (of one actor, when given), in the caller's transaction. */
  async detectBatch(tx: Tx, limit = BATCH, actor?: Actor): Promise<DetectionResult> {
    const result: DetectionResult = { processed: 0, compared: 0, candidates: 0, merged: [] };
    if (!this.enabled) return result;
    // Two batches run side by side on PostgreSQL would each write their block keys and look for neighbours
    // before the other's keys are committed, and miss each other (write skew): two customers created at once by
    // two workers would both pass as unique. Batches take turns across the cluster; each then sees every key an
    // earlier batch committed. (SQLite has one writer already.)
    if (tx.dialect === 'postgres')
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('syncline:duplicate-detection'))");
    const pending = await tx.query<{ id: number; customer_id: string; actor_type: string; actor_id: string }>(
      `SELECT id, customer_id, actor_type, actor_id FROM identity_pending${
        actor ? ' WHERE actor_type = ? AND actor_id = ?' : ''
      } ORDER BY queued_at, id LIMIT ${limit}${tx.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''}`,
      actor ? [actor.type, actor.id.slice(0, 128)] : [],
    );
    if (!pending.length) return result;
    // The rows taken, by id: a row queued meanwhile (the customer changed again) stays for the next batch.
    await tx.execute(
      `DELETE FROM identity_pending WHERE id IN (${placeholders(pending.length)})`,
      pending.map((p) => p.id),
    );
    const actorOf = new Map<string, Actor>();
    for (const p of pending)
      if (!actorOf.has(p.customer_id))
        actorOf.set(p.customer_id, { type: p.actor_type as ActorType, id: p.actor_id });
    const ids = [...actorOf.keys()];
    result.processed = pending.length;
    const touched = [...(await this.customers.loadForMatching(tx, ids)).values()].filter((c) => {
      if (c.mergedInto || c.erasedAt) this.profileCache.delete(c.id);
      return !c.mergedInto && !c.erasedAt;
    });
    if (!touched.length) return result;
    // Normalized once per customer per batch, not once per pair.
    const profiles = new Map<string, MatchProfile>();
    for (const c of touched) profiles.set(c.id, this.remember(c.id, c.version, matchProfile(c.fields)));
    const profileOf = (c: { id: string }) => profiles.get(c.id)!;

    // 1. Refresh block keys: only the difference is written (a full sync writes each customer's keys once).
    const keysOf = new Map<string, string[]>();
    // Per batch, not per detector: batches of one process may interleave on PostgreSQL.
    const strongKeys = new Set<string>();
    for (const c of touched) keysOf.set(c.id, this.storedKeys(profileOf(c), strongKeys));
    const stored = new Map<string, Set<string>>();
    const touchedIds = touched.map((c) => c.id);
    for (const r of await tx.query<{ block_key: string; customer_id: string }>(
      `SELECT block_key, customer_id FROM customer_block_keys WHERE customer_id IN (${placeholders(touchedIds.length)})`,
      touchedIds,
    )) {
      if (!stored.has(r.customer_id)) stored.set(r.customer_id, new Set());
      stored.get(r.customer_id)!.add(r.block_key);
    }
    const added: unknown[][] = [];
    const removed: string[] = [];
    for (const c of touched) {
      const now = new Set(keysOf.get(c.id));
      const before = stored.get(c.id) ?? new Set<string>();
      for (const k of before) if (!now.has(k)) removed.push(k, c.id);
      for (const k of now) if (!before.has(k)) added.push([k, c.id]);
    }
    // Stale keys of the whole batch in a few statements (an edited name changes keys of every customer edited).
    for (let i = 0; i < removed.length; i += 2 * MEMBER_CHUNK) {
      const pairs = removed.slice(i, i + 2 * MEMBER_CHUNK);
      await tx.execute(
        `DELETE FROM customer_block_keys WHERE (block_key, customer_id) IN (VALUES ${Array.from({ length: pairs.length / 2 }, () => '(?, ?)').join(',')})`,
        pairs,
      );
    }
    await tx.insertMany(
      'customer_block_keys',
      ['block_key', 'customer_id'],
      added,
      'ON CONFLICT (block_key, customer_id) DO NOTHING',
    );

    // 2. Neighbours: one statement per chunk of keys for the whole batch, capped per key in SQL. Each key reads
    // at most MAX_BLOCK + 1 entries of the primary key (block_key, customer_id), oldest customers first, however
    // large its block: ranking a whole block with a window function read every member of a common surname
    // (~18 ms a batch at 100,000 customers).
    const allKeys = [...new Set([...keysOf.values()].flat())];
    const members = new Map<string, string[]>();
    // PostgreSQL takes the keys as one array parameter and a lateral join: planning a compound SELECT of 250 parts,
    // on every call, cost it ~50 ms a batch.
    // SQLite: power-of-two pieces, so the compound statement has a few cached texts, not one per key count.
    const pieces =
      tx.dialect === 'postgres'
        ? Array.from({ length: Math.ceil(allKeys.length / 5_000) }, (_, k) => ({
            start: k * 5_000,
            size: 5_000,
          }))
        : pow2Pieces(allKeys.length, MEMBER_CHUNK);
    for (const { start, size } of pieces) {
      const slice = allKeys.slice(start, start + size);
      const perKey = `SELECT * FROM (SELECT block_key, customer_id FROM customer_block_keys WHERE block_key = ? ORDER BY customer_id LIMIT ${MAX_BLOCK + 1}) m`;
      for (const r of await (tx.dialect === 'postgres'
        ? tx.query<{ block_key: string; customer_id: string }>(
            `SELECT k.block_key, m.customer_id FROM unnest(CAST(? AS text[])) AS k (block_key)
             CROSS JOIN LATERAL (SELECT b.customer_id FROM customer_block_keys b WHERE b.block_key = k.block_key
               ORDER BY b.customer_id LIMIT ${MAX_BLOCK + 1}) m`,
            [slice],
          )
        : tx.query<{ block_key: string; customer_id: string }>(
            slice.map(() => perKey).join(' UNION ALL '),
            slice,
          ))) {
        if (!members.has(r.block_key)) members.set(r.block_key, []);
        members.get(r.block_key)!.push(r.customer_id);
      }
    }
    const othersOf = new Map<string, { id: string; key: string }[]>();
    const everyone = new Set<string>();
    for (const c of touched) {
      const shared = new Map<string, { key: string; n: number; strong: boolean }>();
      for (const key of keysOf.get(c.id)!) {
        // A phone or mailbox key is evidence on its own; so is a name key in a small block (a rare name).
        const strong = strongKeys.has(key) || (members.get(key)?.length ?? 0) <= SMALL_BLOCK;
        for (const id of members.get(key) ?? []) {
          if (id === c.id) continue;
          const s = shared.get(id);
          if (s) {
            s.n++;
            s.strong ||= strong;
          } else shared.set(id, { key, n: 1, strong });
        }
      }
      if (!shared.size) continue;
      // One shared key of a large name block alone is a namesake, not evidence: compared are those sharing a
      // phone, mailbox or rare-name key, or at least two keys.
      const best = [...shared.entries()]
        .filter(([, s]) => s.strong || s.n >= 2)
        .sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1))
        .slice(0, MAX_COMPARED)
        .map(([id, s]) => ({ id, key: s.key }));
      othersOf.set(c.id, best);
      for (const o of best) everyone.add(o.id);
    }
    // Neighbours in this batch are already loaded; the others' fields only when their profile is not cached.
    const loaded = new Map<string, MatchHead>(touched.map((c) => [c.id, c]));
    const outside = [...everyone].filter((id) => !loaded.has(id));
    if (outside.length) {
      const heads = await this.customers.loadMatchHeads(tx, outside);
      const misses: string[] = [];
      for (const h of heads.values()) {
        // Merged or erased: never compared again, and an erased person's values leave this cache too.
        if (h.mergedInto || h.erasedAt) {
          this.profileCache.delete(h.id);
          continue;
        }
        const hit = this.profileCache.get(h.id);
        if (hit && hit.version === h.version) profiles.set(h.id, this.remember(h.id, h.version, hit.profile));
        else misses.push(h.id);
      }
      for (const r of (await this.customers.loadForMatching(tx, misses)).values())
        profiles.set(r.id, this.remember(r.id, r.version, matchProfile(r.fields)));
      for (const h of heads.values()) if (profiles.has(h.id)) loaded.set(h.id, h);
    }

    // 3. Score, keep the best few per customer, and write the pairs set-wise.
    const pairs = new Map<string, Pair>();
    for (const c of touched) {
      const scored: { o: MatchHead; s: MatchScore; key: string }[] = [];
      for (const { id, key } of othersOf.get(c.id) ?? []) {
        const o = loaded.get(id);
        if (!o || o.mergedInto || o.erasedAt) continue;
        result.compared++;
        // The same email key is the writer's own identity rule: two customers holding it were created side by
        // side (two cluster workers applying pages at once) and are one person, whatever the other fields say.
        const s =
          c.emailKey && c.emailKey === o.emailKey
            ? sameIdentityKey(profileOf(c), profileOf(o))
            : scoreProfiles(profileOf(c), profileOf(o));
        if (s && s.score >= this.settings.reviewFloor) scored.push({ o, s, key });
      }
      scored.sort((x, y) => y.s.score - x.s.score);
      for (const { o, s, key } of scored.slice(0, MAX_CANDIDATES)) {
        const [a, b] = c.id < o.id ? [c.id, o.id] : [o.id, c.id];
        const k = `${a}\u0000${b}`;
        if (!pairs.has(k) || pairs.get(k)!.s.score < s.score)
          pairs.set(k, { a, b, s, key, actor: actorOf.get(c.id)! });
      }
    }
    if (!pairs.size) return result;
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
    const live: { key: string; p: Pair }[] = [];
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
    if (this.settings.mode !== 'auto') return result;
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
        );
        if (m) result.merged.push(m);
      } catch (err) {
        // Decided meanwhile by another worker's batch (checked before the merge writes anything): nothing to do.
        if (!(err instanceof ConflictException)) throw err;
      }
    }
    return result;
  }
}

function sameIdentityKey(a: MatchProfile, b: MatchProfile): MatchScore {
  const scored = scoreProfiles(a, b);
  return {
    score: 1,
    fields: [
      { field: 'email', similarity: 1, weight: 1, note: 'same email after normalization (the identity key)' },
      ...(scored?.fields.filter((f) => f.field !== 'email') ?? []),
    ],
  };
}
