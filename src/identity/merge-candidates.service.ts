// The review queue: lists candidates and applies a person's decision (accept = merge, reject, undo a merge),
// each in its own transaction.
import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AuditEntity, type Actor } from '../audit/audit.types';
import { Clock } from '../common/clock';
import { Database, type Row } from '../store/database';
import { CandidateStatus, MergeReason, type MergeCandidate } from './identity.types';
import { MergeService, type MergeOutcome } from './merge.service';

export interface CandidateQuery {
  status?: CandidateStatus;
  minScore?: number;
  after?: number;
  limit?: number;
}

@Injectable()
export class MergeCandidatesService {
  constructor(
    private readonly db: Database,
    private readonly merges: MergeService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async list(q: CandidateQuery): Promise<{ candidates: MergeCandidate[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, v: unknown) => {
      where.push(clause);
      params.push(v);
    };
    if (q.status) add('status = ?', q.status);
    // A pending pair with a customer merged away or erased since cannot be decided (accept answers 409): it is left
    // out of the queue. A survivor that took values detection compares is checked again, so a pair still worth a
    // look comes back with the survivor; an undone merge brings the pair back as it was.
    where.push(
      `(status <> '${CandidateStatus.Pending}' OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.id IN (merge_candidates.customer_a, merge_candidates.customer_b) AND (c.merged_into IS NOT NULL OR c.erased_at IS NOT NULL)))`,
    );
    if (q.minScore !== undefined) add('score >= ?', q.minScore);
    if (q.after !== undefined) add('id > ?', q.after);
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const rows = await this.db.query(
      `SELECT * FROM merge_candidates${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${limit + 1}`,
      params,
    );
    const candidates = rows.slice(0, limit).map(toCandidate);
    return {
      candidates,
      nextCursor: rows.length > limit ? String(candidates[candidates.length - 1].id) : null,
    };
  }

  async get(id: number): Promise<MergeCandidate> {
    const [row] = await this.db.query('SELECT * FROM merge_candidates WHERE id = ?', [id]);
    if (!row) throw new NotFoundException(`merge candidate ${id} not found`);
    return toCandidate(row);
  }

  async accept(id: number, actor: Actor): Promise<MergeOutcome> {
    return this.db.transaction(async (tx) => {
      const m = await this.merges.merge(tx, id, MergeReason.Reviewed, actor);
      if (!m)
        throw new ConflictException(
          `merge candidate ${id}: one of the customers was merged or erased meanwhile`,
        );
      return m;
    });
  }

  async reject(id: number, actor: Actor): Promise<MergeCandidate> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query(
        'SELECT status, customer_a, customer_b, score FROM merge_candidates WHERE id = ?',
        [id],
      );
      if (!row) throw new NotFoundException(`merge candidate ${id} not found`);
      if (row.status !== CandidateStatus.Pending)
        throw new ConflictException(`merge candidate ${id} is ${row.status}`);
      await tx.execute(
        'UPDATE merge_candidates SET status = ?, decided_by = ?, updated_at = ? WHERE id = ?',
        [CandidateStatus.Rejected, `${actor.type}:${actor.id}`, this.clock.nowIso(), id],
      );
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Customer,
          entityId: row.customer_a,
          action: 'customer.merge-rejected',
          payload: { mergeId: id, other: row.customer_b, score: Number(row.score) },
        },
      ]);
    });
    return this.get(id);
  }

  async undo(id: number, actor: Actor): Promise<{ survivorId: string; loserId: string }> {
    if (!Number.isInteger(id)) throw new BadRequestException('merge id must be an integer');
    return this.db.transaction((tx) => this.merges.unmerge(tx, id, actor));
  }
}

function toCandidate(r: Row): MergeCandidate {
  return {
    id: Number(r.id),
    customerA: r.customer_a,
    customerB: r.customer_b,
    score: Number(r.score),
    explanation: JSON.parse(r.explanation),
    blockKey: r.block_key,
    status: r.status as CandidateStatus,
    decidedBy: r.decided_by ?? null,
    survivorId: r.survivor_id ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
