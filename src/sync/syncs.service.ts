// Owns sync definitions (syncline.yaml at boot, or the admin API), their paused flag and their cursors.
// Every change is audited.
import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
  type OnModuleInit,
} from '@nestjs/common';
import { CronTime } from 'cron';
import { AuditService } from '../audit/audit.service';
import { ActorType, AuditEntity, type Actor } from '../audit/audit.types';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { syncSchema, type SyncConfig } from '../config/syncline-config.schema';
import { Database, StaleVersionError, type Row, type Tx } from '../store/database';
import { ConfigOrigin, ConnectionsService } from './connections.service';

export interface StoredSync {
  id: string;
  definition: SyncConfig;
  paused: boolean;
  origin: ConfigOrigin;
  createdAt: string;
  updatedAt: string;
}

@Injectable()
export class SyncsService implements OnModuleInit {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly connections: ConnectionsService,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.connections.onModuleInit();
    for (const s of this.config.syncline.syncs) {
      await this.upsert(s, { type: ActorType.System, id: 'syncline.yaml' }, ConfigOrigin.File);
    }
  }

  async list(): Promise<StoredSync[]> {
    return (await this.db.query('SELECT * FROM syncs ORDER BY id')).map(toStored);
  }

  async get(id: string): Promise<StoredSync> {
    const [row] = await this.db.query('SELECT * FROM syncs WHERE id = ?', [id]);
    if (!row) throw new NotFoundException(`sync "${id}" not found`);
    return toStored(row);
  }

  async upsert(input: unknown, actor: Actor, origin = ConfigOrigin.Api): Promise<StoredSync> {
    const parsed = syncSchema.safeParse(input);
    if (!parsed.success) {
      throw new BadRequestException(
        parsed.error.issues.map((i) => `body field "${i.path.join('.')}": ${i.message}`).join('; '),
      );
    }
    const def = parsed.data;
    for (const [i, ep] of [def.source, ...def.destinations].entries()) {
      const field = i === 0 ? 'source.connection' : `destinations.${i - 1}.connection`;
      await this.connections.get(ep.connection).catch(() => {
        throw new BadRequestException(`body field "${field}": unknown connection "${ep.connection}"`);
      });
    }
    if (def.schedule) validateCron(def.schedule);
    const now = this.clock.nowIso();
    return this.db.transaction(async (tx) => {
      const [existing] = await tx.query('SELECT * FROM syncs WHERE id = ?', [def.id]);
      const json = JSON.stringify(def);
      if (existing) {
        if (existing.definition === json) return toStored(existing);
        await tx.execute('UPDATE syncs SET definition = ?, origin = ?, updated_at = ? WHERE id = ?', [
          json,
          origin,
          now,
          def.id,
        ]);
        await this.audit.append(tx, [
          {
            actor,
            entityType: AuditEntity.Sync,
            entityId: def.id,
            action: 'sync.updated',
            payload: { before: JSON.parse(existing.definition), after: def },
          },
        ]);
        return { ...toStored(existing), definition: def, origin, updatedAt: now };
      }
      const inserted = await tx.execute(
        'INSERT INTO syncs (id, definition, paused, origin, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        [def.id, json, origin, now, now],
      );
      // Another process created it concurrently: retry the transaction, which then takes the update path.
      if (!inserted) throw new StaleVersionError('sync', def.id, 0);
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Sync,
          entityId: def.id,
          action: 'sync.created',
          payload: { after: def },
        },
      ]);
      return { id: def.id, definition: def, paused: false, origin, createdAt: now, updatedAt: now };
    });
  }

  async setPaused(id: string, paused: boolean, actor: Actor): Promise<StoredSync> {
    const s = await this.get(id);
    if (s.paused === paused) return s;
    await this.db.transaction(async (tx) => {
      await tx.execute('UPDATE syncs SET paused = ?, updated_at = ? WHERE id = ?', [
        paused ? 1 : 0,
        this.clock.nowIso(),
        id,
      ]);
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Sync,
          entityId: id,
          action: paused ? 'sync.paused' : 'sync.resumed',
          payload: {},
        },
      ]);
    });
    return { ...s, paused };
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const s = await this.get(id);
    await this.db.transaction(async (tx) => {
      await tx.execute('DELETE FROM syncs WHERE id = ?', [id]);
      await tx.execute('DELETE FROM sync_cursors WHERE sync_id = ?', [id]);
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Sync,
          entityId: id,
          action: 'sync.deleted',
          payload: { before: s.definition },
        },
      ]);
    });
  }

  async cursor(id: string, tx?: Tx): Promise<string | null> {
    const rows = await (tx ?? this.db).query('SELECT cursor FROM sync_cursors WHERE sync_id = ?', [id]);
    return rows[0]?.cursor ?? null;
  }

  /** Saves the cursor inside the page's own transaction: data and progress commit together. */
  async saveCursor(
    tx: Tx,
    id: string,
    cursor: string | null,
    runId: string,
    stage = 'inbound',
  ): Promise<void> {
    const now = this.clock.nowIso();
    const updated = await tx.execute(
      'UPDATE sync_cursors SET cursor = ?, stage = ?, run_id = ?, updated_at = ? WHERE sync_id = ?',
      [cursor, stage, runId, now, id],
    );
    if (!updated)
      await tx.execute(
        'INSERT INTO sync_cursors (sync_id, cursor, stage, run_id, updated_at) VALUES (?, ?, ?, ?, ?)',
        [id, cursor, stage, runId, now],
      );
  }

  async resetCursor(id: string, actor: Actor): Promise<void> {
    await this.get(id);
    await this.db.transaction(async (tx) => {
      const [prev] = await tx.query('SELECT cursor FROM sync_cursors WHERE sync_id = ?', [id]);
      await tx.execute('DELETE FROM sync_cursors WHERE sync_id = ?', [id]);
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Sync,
          entityId: id,
          action: 'sync.cursor-reset',
          payload: { before: prev?.cursor ?? null },
        },
      ]);
    });
  }

  /** "connection\u0000object" of every destination of a sync whose run currently holds a live lease. */
  async destinationsOfRunningSyncs(): Promise<Set<string>> {
    const rows = await this.db.query(
      'SELECT s.definition FROM sync_leases l JOIN syncs s ON s.id = l.sync_id WHERE l.expires_at > ?',
      [this.clock.nowIso()],
    );
    const out = new Set<string>();
    for (const r of rows)
      for (const d of (JSON.parse(r.definition) as SyncConfig).destinations)
        out.add(`${d.connection}\u0000${d.object}`);
    return out;
  }

  async ensureNotRunning(id: string): Promise<void> {
    const [lease] = await this.db.query('SELECT run_id, expires_at FROM sync_leases WHERE sync_id = ?', [id]);
    if (lease && lease.expires_at > this.clock.nowIso())
      throw new ConflictException(`sync "${id}" is running (run ${lease.run_id})`);
  }
}

function toStored(r: Row): StoredSync {
  return {
    id: r.id,
    definition: JSON.parse(r.definition),
    paused: Number(r.paused) === 1,
    origin: r.origin,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function validateCron(expr: string): void {
  try {
    // The same parser the scheduler uses, so what validates here also schedules.
    new CronTime(expr);
  } catch (err) {
    throw new BadRequestException(
      `body field "schedule": "${expr}" is not a valid cron expression (${(err as Error).message})`,
    );
  }
}
