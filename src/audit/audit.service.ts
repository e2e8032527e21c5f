// Append-only audit log with a hash chain per partition. A transaction appends all its entries to one
// partition and holds that partition's head row until commit, so concurrent writers on PostgreSQL only contend
// when they pick the same partition, and there is never a change without its entry or an entry without its change.
import { randomBytes } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { stableStringify } from '../common/stable-json';
import { PiiCodec } from '../privacy/pii-codec';
import { Database, type Row, type Tx } from '../store/database';
import { entryHash, GENESIS_HASH, payloadDigest } from './audit-hash';
import type { ActorType, AuditEntry, AuditInput } from './audit.types';

export interface AuditQuery {
  entityType?: string;
  entityId?: string;
  actorType?: string;
  actorId?: string;
  since?: string;
  /** Return entries with seq greater than this (cursor pagination). */
  after?: number;
  limit?: number;
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  redacted: number;
  firstBroken?: { partition: number; pseq: number; seq: number | null; reason: string };
}

const COLUMNS = [
  'chain',
  'pseq',
  'at',
  'actor_type',
  'actor_id',
  'entity_type',
  'entity_id',
  'action',
  'correlation_id',
  'payload',
  'salt',
  'digest',
  'prev_hash',
  'hash',
];

/**
 * Stands in a stored payload for `changes` kept in the customer version row the payload names (entity id and
 * `version`): a customer change's history already holds them, sealed, and a second copy here was the largest part
 * of every entry (about a fifth of a synced record's bytes).
 */
const CHANGES_REF = '~changes';
const IN_VERSION = 'customer_versions';

/** A stored payload that is only a reference to a version row's changes: it holds no values, and is never sealed. */
export function isChangesReference(stored: string): boolean {
  return stored.startsWith('{') && stored.includes(`"${CHANGES_REF}":"${IN_VERSION}"`);
}

/** A stored payload made whole: its JSON text (null for none), or why it cannot be. */
type Opened = { text: string | null; fromVersion?: boolean } | { error: string };

interface Head {
  partition: number;
  pseq: number;
  hash: string;
}

@Injectable()
export class AuditService {
  private readonly partitions: number;
  private nextPartition = Math.floor(Math.random() * 1024);
  /** The partition each open transaction appends to. */
  private readonly heldBy = new WeakMap<Tx, number>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    config: AppConfig,
    // Payloads are sealed at rest; the digest covers the plaintext, so key rotation never touches the chain.
    @Optional() private readonly pii?: PiiCodec,
  ) {
    // One writer on SQLite: a single chain is simplest to reason about and costs nothing.
    this.partitions = db.dialect === 'sqlite' ? 1 : config.env.AUDIT_PARTITIONS;
  }

  /** Appends entries inside the caller's transaction. */
  async append(tx: Tx, inputs: AuditInput[]): Promise<void> {
    if (!inputs.length) return;
    // A transaction keeps the partition it first took: holding two heads, two transactions could deadlock.
    const held = this.heldBy.get(tx);
    const head =
      held !== undefined
        ? await this.lockHead(tx, held)
        : ((await this.lockFreeHead(tx)) ?? (await this.lockNextHead(tx)));
    this.heldBy.set(tx, head.partition);
    const partition = head.partition;
    let prevHash = head.hash;
    let pseq = head.pseq;
    const at = this.clock.nowIso();
    const rows: unknown[][] = [];
    // One random draw per batch for every entry's salt (a syscall per entry showed up in profiles).
    const salts = randomBytes(16 * inputs.length);
    for (const [i, input] of inputs.entries()) {
      pseq += 1;
      const salt = salts.subarray(i * 16, i * 16 + 16).toString('hex');
      const payloadJson = stableStringify(input.payload ?? null);
      const digest = payloadDigest(salt, payloadJson);
      const stored = input.changesInVersion ? referencing(input.payload) : payloadJson;
      const chained = {
        partition,
        pseq,
        at,
        actorType: input.actor.type,
        actorId: input.actor.id,
        entityType: input.entityType,
        entityId: input.entityId,
        action: input.action,
        correlationId: input.correlationId ?? null,
        digest,
        prevHash,
      };
      const hash = entryHash(chained);
      rows.push([
        partition,
        pseq,
        at,
        chained.actorType,
        chained.actorId,
        chained.entityType,
        chained.entityId,
        chained.action,
        chained.correlationId,
        // A reference holds no values (the source record's identity, its timestamp, the version): not sealed.
        this.pii && !input.changesInVersion ? this.pii.sealText(stored) : stored,
        salt,
        digest,
        prevHash,
        hash,
      ]);
      prevHash = hash;
    }
    await tx.insertMany('audit_entries', COLUMNS, rows);
    await tx.execute('UPDATE audit_chain_heads SET pseq = ?, hash = ? WHERE chain = ?', [
      pseq,
      prevHash,
      partition,
    ]);
  }

  /**
   * PostgreSQL: the head of a partition no other transaction holds, if any (tried from a rotating start, so
   * writers spread over the partitions). A page transaction holds its head until it commits; picking a fixed
   * partition in turn made writers queue behind each other whenever two picked the same one.
   */
  private async lockFreeHead(tx: Tx): Promise<Head | null> {
    if (tx.dialect !== 'postgres' || this.partitions === 1) return null;
    const start = this.nextPartition++ % this.partitions;
    const [row] = await tx.query<{ chain: number; pseq: number; hash: string }>(
      'SELECT chain, pseq, hash FROM audit_chain_heads WHERE chain < ? ORDER BY mod(chain + ?, ?) LIMIT 1 FOR UPDATE SKIP LOCKED',
      [this.partitions, this.partitions - start, this.partitions],
    );
    return row ? { partition: Number(row.chain), pseq: Number(row.pseq), hash: row.hash } : null;
  }

  /** The next partition in turn, waiting for it if another transaction holds it (and creating its head row). */
  private lockNextHead(tx: Tx): Promise<Head> {
    return this.lockHead(tx, this.nextPartition++ % this.partitions);
  }

  private async lockHead(tx: Tx, partition: number): Promise<Head> {
    const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const rows = await tx.query<{ pseq: number; hash: string }>(
      `SELECT pseq, hash FROM audit_chain_heads WHERE chain = ?${lock}`,
      [partition],
    );
    if (rows.length) return { partition, pseq: Number(rows[0].pseq), hash: rows[0].hash };
    const insert =
      tx.dialect === 'postgres'
        ? 'INSERT INTO audit_chain_heads (chain, pseq, hash) VALUES (?, 0, ?) ON CONFLICT (chain) DO NOTHING'
        : 'INSERT OR IGNORE INTO audit_chain_heads (chain, pseq, hash) VALUES (?, 0, ?)';
    await tx.execute(insert, [partition, GENESIS_HASH]);
    const again = await tx.query<{ pseq: number; hash: string }>(
      `SELECT pseq, hash FROM audit_chain_heads WHERE chain = ?${lock}`,
      [partition],
    );
    return { partition, pseq: Number(again[0].pseq), hash: again[0].hash };
  }

  async list(q: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, v: unknown) => {
      where.push(clause);
      params.push(v);
    };
    if (q.entityType) add('entity_type = ?', q.entityType);
    if (q.entityId) add('entity_id = ?', q.entityId);
    if (q.actorType) add('actor_type = ?', q.actorType);
    if (q.actorId) add('actor_id = ?', q.actorId);
    if (q.since) add('at >= ?', new Date(q.since).toISOString());
    if (q.after !== undefined) add('seq > ?', q.after);
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const rows = await this.db.query(
      `SELECT * FROM audit_entries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${limit + 1}`,
      params,
    );
    const entries = await this.toEntries(rows.slice(0, limit));
    const nextCursor = rows.length > limit ? String(entries[entries.length - 1].seq) : null;
    return { entries, nextCursor };
  }

  /** The last `n` entries, newest last. */
  async tail(n = 20): Promise<AuditEntry[]> {
    const rows = await this.db.query(
      `SELECT * FROM audit_entries ORDER BY seq DESC LIMIT ${Math.min(Math.max(n, 1), 1000)}`,
    );
    return this.toEntries(rows.reverse());
  }

  /**
   * Walks every partition's chain and reports the first broken entry: an edited entry (hash or digest mismatch),
   * a deleted one (a gap, or a head that points past the last entry) or a reordered one (prev_hash mismatch).
   */
  async verify(batchSize = 5000): Promise<VerifyReport> {
    const heads = await this.db.query<{ chain: number; pseq: number; hash: string }>(
      'SELECT chain, pseq, hash FROM audit_chain_heads ORDER BY chain',
    );
    const partitions = new Set<number>(heads.map((h) => Number(h.chain)));
    for (const r of await this.db.query<{ chain: number }>('SELECT DISTINCT chain FROM audit_entries')) {
      partitions.add(Number(r.chain));
    }
    let checked = 0;
    let redacted = 0;
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      let prevHash = GENESIS_HASH;
      let expectedPseq = 1;
      for (;;) {
        const rows = await this.db.query(
          `SELECT * FROM audit_entries WHERE chain = ? AND pseq >= ? ORDER BY pseq LIMIT ${batchSize}`,
          [partition, expectedPseq],
        );
        const payloads = await this.openPayloads(rows);
        for (const [i, r] of rows.entries()) {
          const payload = payloads[i];
          const e = { ...toEntry(r, null), payload: null };
          const broken = (reason: string): VerifyReport => ({
            ok: false,
            checked,
            redacted,
            firstBroken: { partition, pseq: e.pseq, seq: e.seq, reason },
          });
          if (e.pseq !== expectedPseq)
            return broken(`entry ${expectedPseq} of partition ${partition} is missing`);
          if (e.prevHash !== prevHash)
            return broken('previous-hash link does not match (entry moved or its predecessor changed)');
          if (entryHash(e) !== e.hash) return broken('entry hash does not match its contents (entry edited)');
          if (e.redactedAt === null) {
            if ('error' in payload) return broken(payload.error);
            if (r.salt === null || payloadDigest(r.salt, payload.text ?? 'null') !== e.digest) {
              return broken(
                payload.fromVersion
                  ? 'payload does not match its digest (payload or the version row holding its changes edited)'
                  : 'payload does not match its digest (payload edited)',
              );
            }
          } else redacted++;
          prevHash = e.hash;
          expectedPseq++;
          checked++;
        }
        if (rows.length < batchSize) break;
      }
      const head = heads.find((h) => Number(h.chain) === partition);
      if (!head || Number(head.pseq) !== expectedPseq - 1 || head.hash !== prevHash) {
        return {
          ok: false,
          checked,
          redacted,
          firstBroken: {
            partition,
            pseq: expectedPseq,
            seq: null,
            reason: `chain head says ${head?.pseq ?? 'nothing'} entries but ${expectedPseq - 1} remain (entries deleted at the end)`,
          },
        };
      }
    }
    return { ok: true, checked, redacted };
  }

  private openPayload(text: string): string {
    return this.pii ? this.pii.openText(text) : text;
  }

  /** Entries as readers see them: payloads opened, changes kept in version rows put back. */
  private async toEntries(rows: Row[]): Promise<AuditEntry[]> {
    const payloads = await this.openPayloads(rows);
    return rows.map((r, i) => {
      const p = payloads[i];
      if ('error' in p) throw new Error(`audit entry ${r.seq}: ${p.error}`);
      return toEntry(r, p.text);
    });
  }

  /**
   * Each row's payload as the JSON text its digest covers. A payload that cannot be decrypted, or whose changes'
   * version row is missing or unreadable, gets the reason instead.
   */
  private async openPayloads(rows: Row[]): Promise<Opened[]> {
    const out: Opened[] = [];
    const refs: { i: number; payload: Record<string, unknown> }[] = [];
    for (const [i, r] of rows.entries()) {
      if (r.payload === null || r.payload === undefined) {
        out.push({ text: null });
        continue;
      }
      let text: string;
      try {
        text = this.openPayload(r.payload);
      } catch {
        out.push({ error: 'payload cannot be decrypted (key missing or ciphertext edited)' });
        continue;
      }
      out.push({ text });
      if (!text.includes(CHANGES_REF)) continue;
      const payload = JSON.parse(text) as Record<string, unknown> | null;
      if (payload && typeof payload === 'object' && payload[CHANGES_REF] === IN_VERSION)
        refs.push({ i, payload });
    }
    if (!refs.length) return out;
    const changes = await this.versionChanges(refs.map(({ i }) => String(rows[i].entity_id)));
    for (const { i, payload } of refs) {
      const key = versionKey(String(rows[i].entity_id), Number(payload.version));
      const found = changes.get(key);
      if (found === undefined) {
        out[i] = {
          error: `version ${String(payload.version)} of ${rows[i].entity_id}, which holds its changes, is missing`,
        };
      } else if (found instanceof Error) {
        out[i] = {
          error: `version ${String(payload.version)} of ${rows[i].entity_id}, which holds its changes, cannot be read (${found.message})`,
        };
      } else {
        delete payload[CHANGES_REF];
        out[i] = { text: stableStringify({ ...payload, changes: found }), fromVersion: true };
      }
    }
    return out;
  }

  /** The opened changes of every version of these customers, by `versionKey` (an Error where unreadable). */
  private async versionChanges(customerIds: string[]): Promise<Map<string, unknown[] | Error>> {
    const ids = [...new Set(customerIds)];
    const out = new Map<string, unknown[] | Error>();
    for (let k = 0; k < ids.length; k += 500) {
      const chunk = ids.slice(k, k + 500);
      const rows = await this.db.query<{ customer_id: string; version: number; changes: string }>(
        `SELECT customer_id, version, changes FROM customer_versions WHERE customer_id IN (${chunk.map(() => '?').join(',')})`,
        chunk,
      );
      for (const v of rows) {
        let changes: unknown[] | Error;
        try {
          const stored = JSON.parse(v.changes);
          changes = this.pii ? this.pii.openChanges(stored) : stored;
        } catch (err) {
          changes = err instanceof Error ? err : new Error(String(err));
        }
        out.set(versionKey(v.customer_id, Number(v.version)), changes);
      }
    }
    return out;
  }
}

function versionKey(customerId: string, version: number): string {
  return `${customerId}\u0000${version}`;
}

/** The stored form of a payload whose changes are kept in the version row it names. */
function referencing(payload: unknown): string {
  const p = payload as Record<string, unknown> | null;
  if (!p || typeof p !== 'object' || !Number.isInteger(p.version) || !Array.isArray(p.changes))
    throw new Error('changesInVersion needs a payload with a version number and its changes');
  return stableStringify({ ...p, changes: undefined, [CHANGES_REF]: IN_VERSION });
}

function toEntry(r: Row, payloadText: string | null): AuditEntry {
  return {
    seq: Number(r.seq),
    partition: Number(r.chain),
    pseq: Number(r.pseq),
    at: r.at,
    actorType: r.actor_type as ActorType,
    actorId: r.actor_id,
    entityType: r.entity_type,
    entityId: r.entity_id,
    action: r.action,
    correlationId: r.correlation_id ?? null,
    payload: payloadText === null ? null : JSON.parse(payloadText),
    redactedAt: r.redacted_at ?? null,
    digest: r.digest,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
