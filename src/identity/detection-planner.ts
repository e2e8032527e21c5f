// The reading half of a duplicate-detection batch: which pending customers to take, their block keys (what to add
// and remove), their neighbours, and the scored pairs worth keeping. It only reads, through any `Reader`, so it
// runs the same inside a detection transaction and on the detection thread's own read connection (a SQLite file,
// see detection-thread.ts), where it takes its CPU and its reads off the engine's thread. The writing half
// (DuplicateDetector.write) applies a plan in a write transaction. On PostgreSQL a batch uses the two halves of a
// plan (`keys`, then `score`) in two transactions (see DuplicateDetector.detectInTwo).
import type { Actor, ActorType } from '../audit/audit.types';
import { BoundedMemo } from '../common/bounded-memo';
import {
  readForMatching,
  readMatchHeadsOpening,
  type FieldsOpener,
  type MatchHead,
  type MatchRow,
  type Reader,
} from '../store/match-reads';
import type { Dialect } from '../store/database';
import { pow2Pieces } from '../store/statement-shapes';
import { blockKeysOf } from './blocking';
import { matchProfile, scoreProfiles, type MatchProfile, type MatchScore } from './similarity';

/** Customers read per block key at most: a huge block (a common surname) must not turn into a scan. */
export const MAX_BLOCK = 50;
/** Block keys per neighbour lookup on SQLite (at most 500 terms in a compound SELECT; a power of two, see pieces). */
const MEMBER_CHUNK = 256;
/**
 * Customers compared per touched customer at most, those sharing the most block keys first: a true duplicate
 * shares several keys (phone, mailbox, name and company), a namesake only one.
 */
export const MAX_COMPARED = 16;
/** Block keys built from a phone number or an email local part (blocking.ts prefixes). */
const STRONG_KEY = /^[pe]:/;
/** A name block this small is compared in full (the customer itself included). */
const SMALL_BLOCK = 4;
/** Candidate pairs kept per touched customer: the best ones; the rest would only bury the review queue. */
const MAX_CANDIDATES = 3;
/**
 * Match profiles kept between batches, by customer id and version. Neighbours are mostly the same customers over
 * and over (the members of common-name blocks); a hit saves reading, decrypting and normalizing their fields.
 * A changed customer has a new version, so a stale profile is never used. ~300 bytes each; up to twice this many.
 */
const PROFILE_CACHE = 10_000;

/** A scored pair, customer ids in order (a < b); `actor` is the touched customer's (whose change found it). */
export interface PlannedPair {
  a: string;
  b: string;
  s: MatchScore;
  key: string;
  actor: Actor;
}

/** What one batch would write; plain data, so it crosses from the detection thread as a message. */
export interface DetectionPlan {
  /** Which plan of the detection thread this is (0 when planned in the batch's own transaction). */
  seq: number;
  /** identity_pending rows taken (deleted by the write). */
  pendingIds: number[];
  /** Live touched customers at the version the plan read (a write checks it is still theirs). */
  touched: { id: string; version: number; actor: Actor }[];
  /** [block_key, customer_id] rows to insert and to delete. */
  added: [string, string][];
  removed: [string, string][];
  pairs: PlannedPair[];
  compared: number;
}

/**
 * Plans handed out but maybe not written yet, as the detection thread keeps them (oldest first): the next plan
 * is made while the last one waits for its write, so it must not take the same pending rows, and it must see the
 * block keys the last one will write, as if they were written.
 */
export interface InFlight {
  pendingIds: Iterable<number>;
  added: [string, string][];
  removed: [string, string][];
}

/** An identity_pending row as a batch takes it. */
export interface PendingRow {
  id: number;
  customer_id: string;
  actor_type: string;
  actor_id: string;
}

/** A plan between its halves (see DetectionPlanner.keys and .score). */
export interface KeyedBatch {
  plan: DetectionPlan;
  /** The live customers of the pending rows, as read. */
  touched: MatchRow[];
  profiles: Map<string, MatchProfile>;
  keysOf: Map<string, string[]>;
  /** Stored keys that are evidence on their own (a phone, a mailbox). */
  strongKeys: Set<string>;
  actorOf: Map<string, Actor>;
  /** Key changes not visible to a read: plans in flight, then this batch's own. */
  edits: { key: string; id: string; add: boolean }[];
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(',');

export class DetectionPlanner {
  private readonly profiles: BoundedMemo<string, { version: number; profile: MatchProfile }>;

  /**
   * @param blockKey stored form of a block key (a keyed digest with PII encryption on)
   * @param open opens a customer's stored fields (sealed personal values)
   * @param profileCache profiles remembered (twice this at most, see BoundedMemo)
   */
  constructor(
    private readonly blockKey: (key: string) => string,
    private readonly open?: FieldsOpener,
    profileCache = PROFILE_CACHE,
  ) {
    this.profiles = new BoundedMemo(profileCache);
  }

  /** Drops a customer's remembered profile (merged away, erased). */
  forget(id: string): void {
    this.profiles.delete(id);
  }

  /**
   * Whether the profiles a plan builds are remembered (remembered ones are used either way). The detector turns it
   * off on the engine's thread for a drain that is the detection thread's (batches a long WAL hands back, plans
   * detected again in their batch): the thread keeps those profiles, and at 1,000,000 customers the handbacks filled
   * the engine's memo beside the thread's. A webhook batch detected meanwhile keeps none either.
   */
  remembering = true;

  private remember(id: string, version: number, profile: MatchProfile): MatchProfile {
    if (this.remembering) this.profiles.set(id, { version, profile });
    return profile;
  }

  private storedKeys(p: MatchProfile, strong: Set<string>): string[] {
    const out = new Set<string>();
    for (const k of blockKeysOf(p)) {
      const stored = this.blockKey(`block:${k}`).slice(0, 128);
      out.add(stored);
      // Stored keys built from a phone number or a mailbox (see blocking.ts) are evidence on their own.
      if (STRONG_KEY.test(k)) strong.add(stored);
    }
    return [...out];
  }

  /**
   * Plans one batch of pending customers (of one actor, when given), on SQLite (one writer: nothing to lock or
   * claim; plans in flight on the detection thread are skipped). Reads only.
   */
  async plan(
    r: Reader & { readonly dialect: Dialect },
    limit: number,
    reviewFloor: number,
    actor?: Actor,
    inFlight: InFlight[] = [],
    part = limit,
  ): Promise<DetectionPlan> {
    const taken = new Set<number>();
    for (const f of inFlight) for (const id of f.pendingIds) taken.add(id);
    const pending = (
      await r.query<PendingRow>(
        `SELECT id, customer_id, actor_type, actor_id FROM identity_pending${
          actor ? ' WHERE actor_type = ? AND actor_id = ?' : ''
        } ORDER BY queued_at, id LIMIT ${limit + taken.size}`,
        actor ? [actor.type, actor.id.slice(0, 128)] : [],
      )
    )
      .filter((p) => !taken.has(Number(p.id)))
      .slice(0, limit);
    // In parts of `part` pending rows, each seeing the parts before it as in flight: what one part reads (its
    // neighbours' block members, heads and opened fields) is garbage before the next, so the memory a plan needs
    // is one part's, however many rows it takes. A plan of 2,000 customers at 1,000,000 read up to ~32,000
    // neighbours at once, more than the detection thread's heap holds.
    const parts: DetectionPlan[] = [];
    for (let i = 0; i < pending.length || i === 0; i += part) {
      const keyed = await this.keys(r, pending.slice(i, i + part), [...inFlight, ...parts]);
      await this.score(r, keyed, reviewFloor);
      parts.push(keyed.plan);
    }
    return parts.length === 1 ? parts[0] : joinPlans(parts);
  }

  /**
   * The first half of a plan: the pending rows given, their live customers and block keys, and what to add and
   * remove against the keys stored (with the key changes of `inFlight` plans laid over what was read).
   */
  async keys(r: Reader, pending: PendingRow[], inFlight: InFlight[] = []): Promise<KeyedBatch> {
    const plan: DetectionPlan = {
      seq: 0,
      pendingIds: pending.map((p) => Number(p.id)),
      touched: [],
      added: [],
      removed: [],
      pairs: [],
      compared: 0,
    };
    const keyed: KeyedBatch = {
      plan,
      touched: [],
      profiles: new Map(),
      keysOf: new Map(),
      strongKeys: new Set(),
      actorOf: new Map(),
      edits: [],
    };
    if (!pending.length) return keyed;
    const { actorOf, profiles, keysOf, strongKeys, edits } = keyed;
    for (const p of pending)
      if (!actorOf.has(p.customer_id))
        actorOf.set(p.customer_id, { type: p.actor_type as ActorType, id: p.actor_id });
    const touched = [...(await readForMatching(r, [...actorOf.keys()], this.open)).values()].filter((c) => {
      if (c.mergedInto || c.erasedAt) this.profiles.delete(c.id);
      return !c.mergedInto && !c.erasedAt;
    });
    if (!touched.length) return keyed;
    keyed.touched = touched;
    plan.touched = touched.map((c) => ({ id: c.id, version: c.version, actor: actorOf.get(c.id)! }));
    // Normalized once per customer per batch, not once per pair.
    for (const c of touched) profiles.set(c.id, this.remember(c.id, c.version, matchProfile(c.fields)));

    // Only the difference is written (a full sync writes each customer's keys once). Strong keys are per batch,
    // not per planner: batches of one process may interleave on PostgreSQL.
    for (const c of touched) keysOf.set(c.id, this.storedKeys(profiles.get(c.id)!, strongKeys));
    const stored = new Map<string, Set<string>>();
    const touchedIds = touched.map((c) => c.id);
    for (const row of await r.query<{ block_key: string; customer_id: string }>(
      `SELECT block_key, customer_id FROM customer_block_keys WHERE customer_id IN (${placeholders(touchedIds.length)})`,
      touchedIds,
    )) {
      if (!stored.has(row.customer_id)) stored.set(row.customer_id, new Set());
      stored.get(row.customer_id)!.add(row.block_key);
    }
    // Key changes not visible in what was read, in the order they are written: plans in flight, then this one.
    for (const f of inFlight) {
      for (const [key, id] of f.removed) edits.push({ key, id, add: false });
      for (const [key, id] of f.added) edits.push({ key, id, add: true });
    }
    for (const e of edits)
      if (actorOf.has(e.id)) {
        if (!stored.has(e.id)) stored.set(e.id, new Set());
        if (e.add) stored.get(e.id)!.add(e.key);
        else stored.get(e.id)!.delete(e.key);
      }
    for (const c of touched) {
      const now = new Set(keysOf.get(c.id));
      const before = stored.get(c.id) ?? new Set<string>();
      for (const k of before)
        if (!now.has(k)) {
          plan.removed.push([k, c.id]);
          edits.push({ key: k, id: c.id, add: false });
        }
      for (const k of now)
        if (!before.has(k)) {
          plan.added.push([k, c.id]);
          edits.push({ key: k, id: c.id, add: true });
        }
    }
    return keyed;
  }

  /**
   * The second half: the touched customers' neighbours (through their block keys, with the key changes not yet
   * written laid over what is read), scored; the pairs worth keeping go into the plan.
   */
  async score(
    r: Reader & { readonly dialect: Dialect },
    keyed: KeyedBatch,
    reviewFloor: number,
  ): Promise<void> {
    const { plan, touched, profiles, keysOf, strongKeys, actorOf, edits } = keyed;
    // From zero: a transaction retried after a conflict scores the batch again.
    plan.compared = 0;
    plan.pairs = [];
    if (!touched.length) return;
    const profileOf = (c: { id: string }) => profiles.get(c.id)!;
    // 2. Neighbours: one statement per chunk of keys for the whole batch, capped per key in SQL. Each key reads
    // at most MAX_BLOCK + 1 entries of the primary key (block_key, customer_id), lowest customer ids first, however
    // large its block: ranking a whole block with a window function read every member of a common surname
    // (~18 ms a batch at 100,000 customers). The key changes of this batch and of the plans in flight are not
    // written yet: they are laid over what was read (so a block that lost one of their customers may show one
    // member fewer than after the writes, when it had more than MAX_BLOCK + 1).
    const allKeys = [...new Set([...keysOf.values()].flat())];
    const members = new Map<string, string[]>();
    // PostgreSQL takes the keys as one array parameter and a lateral join: planning a compound SELECT of 250 parts,
    // on every call, cost it ~50 ms a batch.
    // SQLite: power-of-two pieces, so the compound statement has a few cached texts, not one per key count.
    const pieces =
      r.dialect === 'postgres'
        ? Array.from({ length: Math.ceil(allKeys.length / 5_000) }, (_, k) => ({
            start: k * 5_000,
            size: 5_000,
          }))
        : pow2Pieces(allKeys.length, MEMBER_CHUNK);
    // Each row names its key by its place in the slice, not by the key's text: a full sync reads ~22 members per
    // customer, and a stored key (a 32-character digest) per row was that many strings more to make and collect.
    for (const { start, size } of pieces) {
      const slice = allKeys.slice(start, start + size);
      for (const row of await (r.dialect === 'postgres'
        ? r.query<{ k: number; customer_id: string }>(
            `SELECT CAST(k.n AS integer) - 1 AS k, m.customer_id
             FROM unnest(CAST(? AS text[])) WITH ORDINALITY AS k (block_key, n)
             CROSS JOIN LATERAL (SELECT b.customer_id FROM customer_block_keys b WHERE b.block_key = k.block_key
               ORDER BY b.customer_id LIMIT ${MAX_BLOCK + 1}) m`,
            [slice],
          )
        : r.query<{ k: number; customer_id: string }>(memberStatement(slice.length), slice))) {
        const key = slice[row.k];
        const list = members.get(key);
        if (list) list.push(row.customer_id);
        else members.set(key, [row.customer_id]);
      }
    }
    const edited = new Map<string, Set<string>>();
    const wanted = new Set(allKeys);
    for (const e of edits) {
      if (!wanted.has(e.key)) continue;
      let ids = edited.get(e.key);
      if (!ids) edited.set(e.key, (ids = new Set(members.get(e.key))));
      if (e.add) ids.add(e.id);
      else ids.delete(e.id);
    }
    for (const [key, ids] of edited) members.set(key, [...ids].sort().slice(0, MAX_BLOCK + 1));
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
    // The same email key is the writer's identity rule, not fuzzy evidence, so its holders are always compared,
    // found through the key itself: through the blocks they could be missed (a mailbox block of a common local
    // part is capped at MAX_BLOCK, and customers sharing more keys fill MAX_COMPARED first). Two live customers
    // with one email were then never merged, and each kept pushing it to the ESP, which refused the second.
    for (const [id, holders] of await sameEmailKeyHolders(r, touched)) {
      const list = othersOf.get(id) ?? [];
      const listed = new Set(list.map((o) => o.id));
      const extra = holders.filter((h) => !listed.has(h)).map((h) => ({ id: h, key: SAME_EMAIL_KEY }));
      if (!extra.length) continue;
      othersOf.set(id, [...extra, ...list]);
      for (const o of extra) everyone.add(o.id);
    }
    // Neighbours in this batch are already loaded; the others' fields only when their profile is not cached.
    const loaded = new Map<string, MatchHead>(touched.map((c) => [c.id, c]));
    const outside = [...everyone].filter((id) => !loaded.has(id));
    if (outside.length) {
      // Merged or erased: never compared again, and an erased person's values leave this cache too. A cached
      // profile of the same version saves opening the fields; the others are opened from the same read.
      const heads = await readMatchHeadsOpening(
        r,
        outside,
        (h) => {
          if (h.mergedInto || h.erasedAt) {
            this.profiles.delete(h.id);
            return false;
          }
          const hit = this.profiles.get(h.id);
          if (hit && hit.version === h.version) {
            profiles.set(h.id, this.remember(h.id, h.version, hit.profile));
            return false;
          }
          return true;
        },
        this.open,
      );
      for (const h of heads.values()) {
        if (h.fields) profiles.set(h.id, this.remember(h.id, h.version, matchProfile(h.fields)));
        if (profiles.has(h.id)) loaded.set(h.id, h);
      }
    }

    // 3. Score and keep the best few per customer.
    const pairs = new Map<string, PlannedPair>();
    for (const c of touched) {
      const scored: { o: MatchHead; s: MatchScore; key: string }[] = [];
      for (const { id, key } of othersOf.get(c.id) ?? []) {
        const o = loaded.get(id);
        if (!o || o.mergedInto || o.erasedAt) continue;
        plan.compared++;
        // The same email key is the writer's own identity rule: two customers holding it were created side by
        // side (two cluster workers applying pages at once) and are one person, whatever the other fields say.
        const s =
          c.emailKey && c.emailKey === o.emailKey
            ? sameIdentityKey(profileOf(c), profileOf(o))
            : scoreProfiles(profileOf(c), profileOf(o));
        if (s && s.score >= reviewFloor) scored.push({ o, s, key });
      }
      scored.sort((x, y) => y.s.score - x.s.score);
      for (const { o, s, key } of scored.slice(0, MAX_CANDIDATES)) {
        const [a, b] = c.id < o.id ? [c.id, o.id] : [o.id, c.id];
        const k = `${a}\u0000${b}`;
        if (!pairs.has(k) || pairs.get(k)!.s.score < s.score)
          pairs.set(k, { a, b, s, key, actor: actorOf.get(c.id)! });
      }
    }
    plan.pairs = [...pairs.values()];
  }
}

/** SQLite: up to MAX_BLOCK + 1 members of each of n keys, lowest customer ids first, each row with its key's place. */
const memberStatements = new Map<number, string>();
function memberStatement(n: number): string {
  let sql = memberStatements.get(n);
  if (!sql) {
    sql = Array.from(
      { length: n },
      (_, i) =>
        `SELECT * FROM (SELECT ${i} AS k, customer_id FROM customer_block_keys WHERE block_key = ? ORDER BY customer_id LIMIT ${MAX_BLOCK + 1}) m`,
    ).join(' UNION ALL ');
    memberStatements.set(n, sql);
  }
  return sql;
}

/**
 * One plan of parts planned one after the other on one snapshot, each seeing the ones before it in flight: so
 * their key changes follow each other, a customer in two parts (two pending rows) is touched once, and a pair two
 * parts found is kept once, with its best score.
 */
function joinPlans(parts: DetectionPlan[]): DetectionPlan {
  const touched = new Map<string, DetectionPlan['touched'][number]>();
  const pairs = new Map<string, PlannedPair>();
  const plan: DetectionPlan = {
    seq: 0,
    pendingIds: [],
    touched: [],
    added: [],
    removed: [],
    pairs: [],
    compared: 0,
  };
  for (const p of parts) {
    plan.pendingIds.push(...p.pendingIds);
    for (const t of p.touched) if (!touched.has(t.id)) touched.set(t.id, t);
    plan.added.push(...p.added);
    plan.removed.push(...p.removed);
    for (const pair of p.pairs) {
      const k = `${pair.a}\u0000${pair.b}`;
      const had = pairs.get(k);
      if (!had || had.s.score < pair.s.score) pairs.set(k, pair);
    }
    plan.compared += p.compared;
  }
  plan.touched = [...touched.values()];
  plan.pairs = [...pairs.values()];
  return plan;
}

/** What a pair found through the email key (not a block) records as its block key. */
const SAME_EMAIL_KEY = 'email-key';

/** Live customers holding each touched customer's email key, by touched customer (itself left out). */
async function sameEmailKeyHolders(r: Reader, touched: MatchHead[]): Promise<Map<string, string[]>> {
  const keys = [...new Set(touched.flatMap((c) => (c.emailKey ? [c.emailKey] : [])))];
  const byKey = new Map<string, string[]>();
  for (let i = 0; i < keys.length; i += 500) {
    const slice = keys.slice(i, i + 500);
    for (const row of await r.query<{ id: string; email_key: string }>(
      `SELECT id, email_key FROM customers WHERE email_key IN (${placeholders(slice.length)}) AND merged_into IS NULL AND erased_at IS NULL`,
      slice,
    )) {
      if (!byKey.has(row.email_key)) byKey.set(row.email_key, []);
      byKey.get(row.email_key)!.push(row.id);
    }
  }
  const out = new Map<string, string[]>();
  for (const c of touched) {
    // Capped as a block is (the writer attaches a new record to the key's holder, so more than two are rare).
    const others = (c.emailKey ? byKey.get(c.emailKey) : undefined)
      ?.filter((id) => id !== c.id)
      .sort()
      .slice(0, MAX_BLOCK);
    if (others?.length) out.set(c.id, others);
  }
  return out;
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
