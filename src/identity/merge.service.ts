// Merges and unmerges customers. A merge keeps every identity (re-pointed to the survivor), merges fields with
// the merge rules on each field's own provenance timestamp, marks the loser merged_into the survivor, bumps
// both versions with history rows, audits reason and score, and enqueues the survivor to its destinations. The
// snapshot stored on the candidate makes the merge undoable. Everything runs in the caller's transaction.
import { ConflictException, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AuditEntity, type Actor } from '../audit/audit.types';
import { CustomerWriter } from '../canonical/customer-writer.service';
import type { CustomerFields, Provenance } from '../canonical/customer.model';
import { mergeFields, type FieldChange } from '../canonical/merge-rules';
import { Clock } from '../common/clock';
import type { SyncConfig } from '../config/syncline-config.schema';
import { AppConfig } from '../config/app-config';
import { ConsentService } from '../consent/consent.service';
import { consentStatusOf } from '../consent/consent.types';
import { PiiCodec } from '../privacy/pii-codec';
import { CustomerRepository, type CustomerRow } from '../store/customer.repository';
import type { Tx } from '../store/database';
import { OutboxService } from '../sync/outbox.service';
import { OutboxOp } from '../sync/sync.types';
import { CandidateStatus, MergeReason, type MergeSnapshot } from './identity.types';
import { queueForDetection } from './detection-queue';
import { MATCH_FIELDS } from './similarity';

export interface MergeOutcome {
  candidateId: number;
  survivorId: string;
  loserId: string;
  changes: FieldChange[];
}

/** Thrown by a merge asked not to wait (`ifFree`) when another transaction holds one of the pair (PostgreSQL). */
export class PairBusyError extends Error {
  constructor(readonly candidateId: number) {
    super(`merge candidate ${candidateId}: a customer of the pair is held by another transaction`);
  }
}

@Injectable()
export class MergeService {
  constructor(
    private readonly customers: CustomerRepository,
    private readonly writer: CustomerWriter,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly consent: ConsentService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    // The undo snapshot holds both customers' personal fields: sealed at rest like the customers themselves.
    @Optional() private readonly pii?: PiiCodec,
  ) {}

  /**
   * Queues customers for duplicate detection again, in the caller's transaction (as a page does for a change); until
   * then the outbox holds them back. Not with detection off: nothing would check them.
   */
  private async detectAgain(tx: Tx, ids: string[], actor: Actor, now: string): Promise<void> {
    if (this.config.env.SYNCLINE_IDENTITY_MODE === 'off') return;
    await queueForDetection(
      tx,
      ids.map((id) => [id, actor] as const),
      now,
    );
  }

  /**
   * Merges the pair of candidate `candidateId`. Returns null when either side is gone (merged or erased).
   * `ifFree`: throws PairBusyError, having changed nothing, instead of waiting for another transaction holding
   * either customer (automatic merges, which detection retries later).
   */
  async merge(
    tx: Tx,
    candidateId: number,
    reason: MergeReason,
    actor: Actor,
    opts: { ifFree?: boolean } = {},
  ): Promise<MergeOutcome | null> {
    const [cand] = await tx.query('SELECT * FROM merge_candidates WHERE id = ?', [candidateId]);
    if (!cand) throw new NotFoundException(`merge candidate ${candidateId} not found`);
    if (cand.status !== CandidateStatus.Pending)
      throw new ConflictException(`merge candidate ${candidateId} is ${cand.status}`);
    // Both customers locked before anything of theirs is read: a push settling for either (OutboxService's settle
    // takes FOR KEY SHARE on its customers) then either commits first, and this merge sees its destination state,
    // or waits for this merge and folds into the survivor. Without it both can miss each other (write skew).
    if (tx.dialect === 'postgres') {
      const ids = [cand.customer_a, cand.customer_b];
      const locked = await tx.query(
        `SELECT id FROM customers WHERE id IN (?, ?) ORDER BY id FOR UPDATE${opts.ifFree ? ' SKIP LOCKED' : ''}`,
        ids,
      );
      // Fewer rows than customers that exist: one is held elsewhere (locks this transaction holds are not skipped).
      if (
        opts.ifFree &&
        locked.length < 2 &&
        (await tx.query('SELECT id FROM customers WHERE id IN (?, ?)', ids)).length > locked.length
      )
        throw new PairBusyError(candidateId);
    }
    const rows = await this.customers.loadMany(tx, [cand.customer_a, cand.customer_b]);
    const a = rows.get(cand.customer_a);
    const b = rows.get(cand.customer_b);
    if (!a || !b || a.mergedInto || b.mergedInto || a.erasedAt || b.erasedAt) return null;
    // The survivor is chosen by id, not by our clock, so a resumed or replayed run merges exactly as an
    // uninterrupted one would (ids are stable: derived from the first identity).
    const [survivor, loser] = a.id < b.id ? [a, b] : [b, a];
    const now = this.clock.nowIso();
    const score = Number(cand.score);
    const explanation = JSON.parse(cand.explanation);

    // Fields: replay the loser's values through the merge rules, each with its own source and timestamp.
    let state: { fields: CustomerFields; provenance: Provenance } = {
      fields: survivor.fields,
      provenance: survivor.provenance,
    };
    const changes: FieldChange[] = [];
    // Grouped by source (connection and record, when known), each group one change through the rules.
    const bySource = new Map<
      string,
      { connection: string; record?: string; fields: CustomerFields; at: Record<string, string> }
    >();
    for (const [field, value] of Object.entries(loser.fields)) {
      const p = loser.provenance[field];
      if (!p) continue;
      const key = JSON.stringify([p.connection, p.record ?? null]);
      if (!bySource.has(key))
        bySource.set(key, { connection: p.connection, record: p.record, fields: {}, at: {} });
      const g = bySource.get(key)!;
      g.fields[field] = value;
      g.at[field] = p.at;
    }
    for (const g of bySource.values()) {
      const r = mergeFields(state, {
        connection: g.connection,
        sourceTimestamp: Object.values(g.at)[0],
        fieldTimestamps: g.at,
        fields: g.fields,
        ...(g.record === undefined ? {} : { record: g.record }),
      });
      state = { fields: r.fields, provenance: r.provenance };
      changes.push(...r.changes);
    }

    const moved = await tx.query(
      'SELECT connection, object, external_id FROM customer_identities WHERE customer_id = ?',
      [loser.id],
    );
    const movedIdentities = moved.map((r) => ({
      connection: r.connection as string,
      object: r.object as string,
      externalId: r.external_id as string,
    }));
    await tx.execute('UPDATE customer_identities SET customer_id = ? WHERE customer_id = ?', [
      survivor.id,
      loser.id,
    ]);
    // The loser's record at a destination becomes the survivor's, unless the survivor already has one there.
    const dest = await tx.query(
      'SELECT d.connection, d.object FROM destination_state d WHERE d.customer_id = ? AND NOT EXISTS (SELECT 1 FROM destination_state s WHERE s.connection = d.connection AND s.object = d.object AND s.customer_id = ?)',
      [loser.id, survivor.id],
    );
    const movedDestinations = dest.map((r) => ({
      connection: r.connection as string,
      object: r.object as string,
    }));
    for (const d of movedDestinations) {
      await tx.execute(
        'UPDATE destination_state SET customer_id = ? WHERE connection = ? AND object = ? AND customer_id = ?',
        [survivor.id, d.connection, d.object, loser.id],
      );
    }
    // Anything still queued for the loser would push a record that no longer exists on its own.
    await tx.execute("DELETE FROM outbox WHERE customer_id = ? AND status = 'pending'", [loser.id]);
    // Where both already have a record at a destination, the loser's is a duplicate there too: it is deleted
    // (before the survivor's update is sent, which may carry the loser's email or phone and would otherwise match
    // two records at the vendor). Undo pushes the loser again.
    const twins = await tx.query(
      'SELECT connection, object FROM destination_state WHERE customer_id = ? AND external_id IS NOT NULL',
      [loser.id],
    );
    if (twins.length) {
      const syncs = await this.activeSyncs(tx);
      for (const t of twins) {
        const owner = syncs.find((s) =>
          s.destinations.some((d) => d.connection === t.connection && d.object === t.object),
        );
        await this.outbox.enqueue(tx, t.connection, t.object, [loser.id], OutboxOp.Delete, owner?.id ?? null);
      }
    }
    await tx.execute('DELETE FROM customer_block_keys WHERE customer_id = ?', [loser.id]);

    const snapshot: MergeSnapshot = {
      reason,
      survivor,
      loser,
      movedIdentities,
      movedDestinations,
      mergedAt: now,
    };
    const newSurvivor: CustomerRow = {
      ...survivor,
      version: survivor.version + 1,
      fields: state.fields,
      provenance: state.provenance,
      emailKey: this.writer.emailKeyOf(state.fields.email),
      updatedAt: now,
    };
    const newLoser: CustomerRow = {
      ...loser,
      version: loser.version + 1,
      mergedInto: survivor.id,
      updatedAt: now,
    };
    await this.customers.updateCustomer(tx, newSurvivor, survivor.version);
    await this.customers.updateCustomer(tx, newLoser, loser.version);
    const cause = { actorType: actor.type, actorId: actor.id, merge: candidateId, reason, score };
    await this.customers.insertVersions(tx, [
      {
        customerId: survivor.id,
        version: newSurvivor.version,
        changes,
        cause: { ...cause, absorbed: loser.id },
        at: now,
      },
      {
        customerId: loser.id,
        version: newLoser.version,
        changes: [],
        cause: { ...cause, mergedInto: survivor.id },
        at: now,
      },
    ]);
    await tx.execute(
      'UPDATE merge_candidates SET status = ?, survivor_id = ?, snapshot = ?, decided_by = ?, updated_at = ? WHERE id = ?',
      [
        CandidateStatus.Merged,
        survivor.id,
        this.pii ? this.pii.sealText(JSON.stringify(snapshot)) : JSON.stringify(snapshot),
        `${actor.type}:${actor.id}`,
        now,
        candidateId,
      ],
    );
    const payload = {
      mergeId: candidateId,
      survivor: survivor.id,
      loser: loser.id,
      reason,
      score,
      explanation,
      changes,
      identities: movedIdentities.length,
    };
    await this.audit.append(tx, [
      { actor, entityType: AuditEntity.Customer, entityId: survivor.id, action: 'customer.merged', payload },
      {
        actor,
        entityType: AuditEntity.Customer,
        entityId: loser.id,
        action: 'customer.merged-into',
        payload,
      },
    ]);
    await this.recordConsent(tx, newSurvivor, changes, 'merge', candidateId, actor);
    await this.enqueueDestinations(tx, [survivor.id]);
    // A survivor that took values detection compares is checked for duplicates again: a customer that matched the
    // loser (its candidate left pending, the loser gone) may match it now.
    if (changes.some((c) => MATCH_FIELDS.has(c.field))) await this.detectAgain(tx, [survivor.id], actor, now);
    return { candidateId, survivorId: survivor.id, loserId: loser.id, changes };
  }

  /** Undoes merge `candidateId`: both records get their fields at the merge point back, and the loser its identities. */
  async unmerge(tx: Tx, candidateId: number, actor: Actor): Promise<{ survivorId: string; loserId: string }> {
    const [cand] = await tx.query('SELECT * FROM merge_candidates WHERE id = ?', [candidateId]);
    if (!cand) throw new NotFoundException(`merge ${candidateId} not found`);
    if (cand.status !== CandidateStatus.Merged || !cand.snapshot)
      throw new ConflictException(`merge candidate ${candidateId} is ${cand.status}, not merged`);
    const snap = JSON.parse(this.pii ? this.pii.openText(cand.snapshot) : cand.snapshot) as MergeSnapshot;
    const current = await this.customers.loadMany(tx, [snap.survivor.id, snap.loser.id]);
    const survivorNow = current.get(snap.survivor.id);
    const loserNow = current.get(snap.loser.id);
    if (!survivorNow || !loserNow)
      throw new ConflictException(`merge ${candidateId}: a customer no longer exists`);
    if (survivorNow.erasedAt || loserNow.erasedAt)
      throw new ConflictException(`merge ${candidateId}: a customer was erased`);
    if (loserNow.mergedInto !== snap.survivor.id)
      throw new ConflictException(`merge ${candidateId}: the loser was moved since`);
    // The survivor merged on into another customer since (a survivor is checked again after its merge): its
    // identities and destinations are that customer's now, so this merge is undone only after that one.
    if (survivorNow.mergedInto)
      throw new ConflictException(
        `merge ${candidateId}: the survivor was merged into ${survivorNow.mergedInto} since; undo that merge first`,
      );
    const now = this.clock.nowIso();
    const restore = (now_: CustomerRow, then: CustomerRow): { row: CustomerRow; changes: FieldChange[] } => ({
      row: {
        ...then,
        version: now_.version + 1,
        mergedInto: null,
        updatedAt: now,
        emailKey: this.writer.emailKeyOf(then.fields.email),
      },
      changes: diff(now_.fields, then.fields),
    });
    const s = restore(survivorNow, snap.survivor);
    const l = restore(loserNow, snap.loser);
    await this.customers.updateCustomer(tx, s.row, survivorNow.version);
    await this.customers.updateCustomer(tx, l.row, loserNow.version);
    for (const i of snap.movedIdentities) {
      await tx.execute(
        'UPDATE customer_identities SET customer_id = ? WHERE connection = ? AND object = ? AND external_id = ?',
        [snap.loser.id, i.connection, i.object, i.externalId],
      );
    }
    for (const d of snap.movedDestinations) {
      await tx.execute(
        'UPDATE destination_state SET customer_id = ? WHERE connection = ? AND object = ? AND customer_id = ?',
        [snap.loser.id, d.connection, d.object, snap.survivor.id],
      );
    }
    const cause = { actorType: actor.type, actorId: actor.id, unmerge: candidateId };
    await this.customers.insertVersions(tx, [
      { customerId: s.row.id, version: s.row.version, changes: s.changes, cause, at: now },
      { customerId: l.row.id, version: l.row.version, changes: l.changes, cause, at: now },
    ]);
    await tx.execute('UPDATE merge_candidates SET status = ?, decided_by = ?, updated_at = ? WHERE id = ?', [
      CandidateStatus.Undone,
      `${actor.type}:${actor.id}`,
      now,
      candidateId,
    ]);
    const payload = {
      mergeId: candidateId,
      survivor: s.row.id,
      loser: l.row.id,
      identities: snap.movedIdentities.length,
    };
    await this.audit.append(tx, [
      { actor, entityType: AuditEntity.Customer, entityId: s.row.id, action: 'customer.unmerged', payload },
      { actor, entityType: AuditEntity.Customer, entityId: l.row.id, action: 'customer.unmerged', payload },
    ]);
    await this.recordConsent(tx, s.row, s.changes, 'unmerge', candidateId, actor);
    await this.enqueueDestinations(tx, [s.row.id, l.row.id]);
    // Both have their fields at the merge point again: their block keys and candidates are made from those (the
    // undone pair itself is never proposed again).
    await this.detectAgain(tx, [s.row.id, l.row.id], actor, now);
    return { survivorId: s.row.id, loserId: l.row.id };
  }

  private async recordConsent(
    tx: Tx,
    c: CustomerRow,
    changes: FieldChange[],
    kind: 'merge' | 'unmerge',
    mergeId: number,
    actor: Actor,
  ): Promise<void> {
    if (!changes.some((ch) => ch.field === 'emailConsent')) return;
    const p = c.provenance.emailConsent;
    await this.consent.record(tx, [
      {
        customerId: c.id,
        status: consentStatusOf(c.fields.emailConsent),
        at: p?.at ?? this.clock.nowIso(),
        sourceConnection: p?.connection ?? 'syncline',
        proof: { kind, field: 'emailConsent', mergeId, actor: `${actor.type}:${actor.id}` },
      },
    ]);
  }

  private async activeSyncs(tx: Tx): Promise<SyncConfig[]> {
    return (await tx.query('SELECT definition, paused FROM syncs'))
      .filter((r) => !Number(r.paused))
      .map((r) => JSON.parse(r.definition) as SyncConfig);
  }

  /** Every destination of a sync whose source holds an identity of the customer. */
  private async enqueueDestinations(tx: Tx, customerIds: string[]): Promise<void> {
    const syncs = await this.activeSyncs(tx);
    for (const id of customerIds) {
      const sources = new Set(
        (
          await tx.query(
            'SELECT DISTINCT connection, object FROM customer_identities WHERE customer_id = ?',
            [id],
          )
        ).map((r) => `${r.connection}\u0000${r.object}`),
      );
      for (const s of syncs) {
        if (!sources.has(`${s.source.connection}\u0000${s.source.object}`)) continue;
        for (const d of s.destinations)
          await this.outbox.enqueue(tx, d.connection, d.object, [id], OutboxOp.Upsert, s.id);
      }
    }
  }
}

function diff(before: CustomerFields, after: CustomerFields): FieldChange[] {
  const out: FieldChange[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[k] ?? null;
    const a = after[k] ?? null;
    if (b !== a) out.push({ field: k, before: b, after: a });
  }
  return out;
}
