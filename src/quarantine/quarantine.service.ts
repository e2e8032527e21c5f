// Owns the quarantine's read and repair side: list and filter entries, correct a quarantined vendor record
// (audited), and replay entries through the normal inbound path (InboundService.processPage in one transaction,
// with its audit entries), which resolves an entry that now passes or rewrites its reasons if it still fails.
// It never writes customers itself.
import { Injectable, NotFoundException, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AuditEntity, type Actor } from '../audit/audit.types';
import { Clock } from '../common/clock';
import { ConnectorRegistry } from '../connectors/connector.registry';
import { PiiCodec } from '../privacy/pii-codec';
import { Database, type Row } from '../store/database';
import { ConnectionsService } from '../sync/connections.service';
import { InboundService } from '../sync/inbound.service';
import { SyncsService } from '../sync/syncs.service';

export enum QuarantineStatus {
  Open = 'open',
  Resolved = 'resolved',
}

export interface QuarantineEntry {
  id: number;
  connection: string;
  object: string;
  externalId: string;
  syncId: string | null;
  record: Record<string, unknown>;
  reasons: { field: string; message: string }[];
  mappingVersion: number | null;
  status: QuarantineStatus;
  createdAt: string;
  updatedAt: string;
}

export interface QuarantineQuery {
  connection?: string;
  object?: string;
  status?: QuarantineStatus;
  /** Entries with at least one reason about this canonical field. */
  field?: string;
  after?: number;
  limit?: number;
}

export interface ReplayResult {
  id: number;
  status: QuarantineStatus;
  reasons: { field: string; message: string }[];
}

@Injectable()
export class QuarantineService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly inbound: InboundService,
    private readonly connections: ConnectionsService,
    private readonly registry: ConnectorRegistry,
    private readonly syncs: SyncsService,
    // Records and reasons are sealed at rest when the privacy module is on.
    @Optional() private readonly pii?: PiiCodec,
  ) {}

  private open(text: string): string {
    return this.pii ? this.pii.openText(text) : text;
  }

  private seal(text: string): string {
    return this.pii ? this.pii.sealText(text) : text;
  }

  private entry(r: Row): QuarantineEntry {
    return toEntry({ ...r, record: this.open(r.record), reasons: this.open(r.reasons) });
  }

  async list(q: QuarantineQuery): Promise<{ entries: QuarantineEntry[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, v: unknown) => {
      where.push(clause);
      params.push(v);
    };
    if (q.connection) add('connection = ?', q.connection);
    if (q.object) add('object = ?', q.object);
    if (q.status) add('status = ?', q.status);
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    // Reasons may be sealed at rest, so the field filter runs after opening them, page by page.
    const entries: QuarantineEntry[] = [];
    let after = q.after ?? 0;
    for (;;) {
      const rows = await this.db.query(
        `SELECT * FROM quarantine WHERE ${[...where, 'id > ?'].join(' AND ')} ORDER BY id LIMIT 500`,
        [...params, after],
      );
      for (const r of rows) {
        const e = this.entry(r);
        if (!q.field || e.reasons.some((x) => x.field === q.field)) entries.push(e);
        if (entries.length > limit) break;
      }
      if (entries.length > limit || rows.length < 500) break;
      after = Number(rows[rows.length - 1].id);
    }
    const page = entries.slice(0, limit);
    return { entries: page, nextCursor: entries.length > limit ? String(page[page.length - 1].id) : null };
  }

  async get(id: number): Promise<QuarantineEntry> {
    const [row] = await this.db.query('SELECT * FROM quarantine WHERE id = ?', [id]);
    if (!row) throw new NotFoundException(`quarantine entry ${id} not found`);
    return this.entry(row);
  }

  /** Replaces the quarantined vendor record with a corrected one; the entry stays open until replayed. */
  async correct(id: number, record: Record<string, unknown>, actor: Actor): Promise<QuarantineEntry> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query(
        'SELECT id, connection, object, external_id, record FROM quarantine WHERE id = ?',
        [id],
      );
      if (!row) throw new NotFoundException(`quarantine entry ${id} not found`);
      await tx.execute("UPDATE quarantine SET record = ?, status = 'open', updated_at = ? WHERE id = ?", [
        this.seal(JSON.stringify(record)),
        this.clock.nowIso(),
        id,
      ]);
      // The audit keeps which fields were corrected, not their (personal) values.
      const before = JSON.parse(this.open(row.record)) as Record<string, unknown>;
      const changed = [...new Set([...Object.keys(before), ...Object.keys(record)])].filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(record[k]),
      );
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Quarantine,
          entityId: String(id),
          action: 'quarantine.corrected',
          payload: {
            connection: row.connection,
            object: row.object,
            externalId: row.external_id,
            fields: changed,
          },
        },
      ]);
    });
    return this.get(id);
  }

  /** Replays one entry through the inbound path with the current mapping. */
  async replay(id: number, actor: Actor): Promise<ReplayResult> {
    const entry = await this.get(id);
    const ctx = await this.connections.context(entry.connection);
    const connector = this.registry.get(ctx.connector);
    const syncs = (await this.syncs.list())
      .filter(
        (s) =>
          !s.paused &&
          s.definition.source.connection === entry.connection &&
          s.definition.source.object === entry.object,
      )
      .map((s) => s.definition);
    await this.db.transaction(async (tx) => {
      await this.inbound.processPage(tx, [{ id: entry.externalId, data: entry.record }], [], {
        connection: ctx,
        connector,
        object: entry.object,
        syncs,
        actor,
        correlationId: `quarantine-replay:${id}`,
      });
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Quarantine,
          entityId: String(id),
          action: 'quarantine.replayed',
          payload: { connection: entry.connection, object: entry.object, externalId: entry.externalId },
        },
      ]);
    });
    const after = await this.get(id);
    return { id, status: after.status, reasons: after.status === QuarantineStatus.Open ? after.reasons : [] };
  }

  /** Replays every open entry (optionally of one connection/object), oldest first. */
  async replayAll(
    actor: Actor,
    filter: { connection?: string; object?: string } = {},
  ): Promise<{ replayed: number; resolved: number; stillOpen: number }> {
    let after: number | undefined;
    let replayed = 0;
    let resolved = 0;
    for (;;) {
      const page = await this.list({ ...filter, status: QuarantineStatus.Open, after, limit: 500 });
      for (const e of page.entries) {
        const r = await this.replay(e.id, actor);
        replayed++;
        if (r.status === QuarantineStatus.Resolved) resolved++;
      }
      if (!page.nextCursor) break;
      after = Number(page.nextCursor);
    }
    return { replayed, resolved, stillOpen: replayed - resolved };
  }
}

function toEntry(r: Row): QuarantineEntry {
  return {
    id: Number(r.id),
    connection: r.connection,
    object: r.object,
    externalId: r.external_id,
    syncId: r.sync_id ?? null,
    record: JSON.parse(r.record),
    reasons: JSON.parse(r.reasons),
    mappingVersion:
      r.mapping_version === null || r.mapping_version === undefined ? null : Number(r.mapping_version),
    status: r.status as QuarantineStatus,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
