// Owns configured connections: declared in syncline.yaml (applied at boot) or managed over the admin API.
// Credentials are stored as references to environment variables (or literals for sandboxes) and resolved only
// when a connector needs them; every change is audited.
import {
  BadRequestException,
  Injectable,
  NotFoundException,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { BroadcastChannel } from 'node:worker_threads';
import { AuditService } from '../audit/audit.service';
import { ActorType, AuditEntity, type Actor } from '../audit/audit.types';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { connectionSchema, type ConnectionConfig, type SecretRef } from '../config/syncline-config.schema';
import type { ConnectionContext } from '../connectors/connector.types';
import { ConnectorRegistry } from '../connectors/connector.registry';
import { PiiCodec } from '../privacy/pii-codec';
import { Database, StaleVersionError, type Row } from '../store/database';

export enum ConfigOrigin {
  File = 'file',
  Api = 'api',
}

export interface StoredConnection extends ConnectionConfig {
  origin: ConfigOrigin;
  createdAt: string;
  updatedAt: string;
}

/** What the API shows of a connection: credential names and their kind, never a value. */
export function describeCredentials(credentials: Record<string, SecretRef>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(credentials).map(([k, v]) => [k, typeof v === 'string' ? '(literal)' : `env:${v.env}`]),
  );
}

@Injectable()
export class ConnectionsService implements OnModuleInit, OnModuleDestroy {
  private readonly contexts = new Map<string, ConnectionContext>();
  /**
   * Resolved contexts are cached; a change made on one thread of this process (the API on the service thread)
   * drops the copy on the others (the engine thread's, see queue/engine-thread.ts).
   */
  private readonly changes = new BroadcastChannel('syncline:connection-changed');
  private loaded?: Promise<void>;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly registry: ConnectorRegistry,
    // Literal credentials are sealed at rest like personal data.
    @Optional() private readonly pii?: PiiCodec,
  ) {
    this.changes.onmessage = (e) => this.contexts.delete((e as { data: string }).data);
    // Never what keeps a process alive.
    (this.changes as unknown as { unref(): void }).unref();
  }

  private changed(id: string): void {
    this.contexts.delete(id);
    this.changes.postMessage(id);
  }

  onModuleDestroy(): void {
    this.changes.close();
  }

  /** Applies syncline.yaml once per process (SyncsService awaits it too, so it is memoized). */
  onModuleInit(): Promise<void> {
    this.loaded ??= (async () => {
      for (const c of this.config.syncline.connections) {
        await this.upsert(c, { type: ActorType.System, id: 'syncline.yaml' }, ConfigOrigin.File);
      }
    })();
    return this.loaded;
  }

  async list(): Promise<StoredConnection[]> {
    return (await this.db.query('SELECT * FROM connections ORDER BY id')).map((r) => toStored(r, this.pii));
  }

  async get(id: string): Promise<StoredConnection> {
    const [row] = await this.db.query('SELECT * FROM connections WHERE id = ?', [id]);
    if (!row) throw new NotFoundException(`connection "${id}" not found`);
    return toStored(row, this.pii);
  }

  /** Creates or replaces a connection; a no-op when nothing changed. Audited. */
  async upsert(input: unknown, actor: Actor, origin = ConfigOrigin.Api): Promise<StoredConnection> {
    const parsed = connectionSchema.safeParse(input);
    if (!parsed.success) {
      throw new BadRequestException(
        parsed.error.issues.map((i) => `body field "${i.path.join('.')}": ${i.message}`).join('; '),
      );
    }
    const c = parsed.data;
    if (!this.registry.has(c.connector)) {
      throw new BadRequestException(`body field "connector": no connector "${c.connector}" is installed`);
    }
    const now = this.clock.nowIso();
    const stored = await this.db.transaction(async (tx) => {
      const [existing] = await tx.query('SELECT * FROM connections WHERE id = ?', [c.id]);
      const next = [
        c.connector,
        c.baseUrl ?? null,
        JSON.stringify(c.credentials),
        JSON.stringify(c.settings),
      ];
      const sealed = this.pii
        ? [next[0], next[1], JSON.stringify(this.pii.sealCredentials(c.credentials)), next[3]]
        : next;
      if (existing) {
        const prev = toStored(existing, this.pii);
        const same =
          prev.connector === c.connector &&
          (prev.baseUrl ?? null) === (c.baseUrl ?? null) &&
          JSON.stringify(prev.credentials) === next[2] &&
          JSON.stringify(prev.settings) === next[3];
        if (same) return prev;
        await tx.execute(
          'UPDATE connections SET connector = ?, base_url = ?, credentials = ?, settings = ?, origin = ?, updated_at = ? WHERE id = ?',
          [...sealed, origin, now, c.id],
        );
        await this.audit.append(tx, [
          {
            actor,
            entityType: AuditEntity.Connection,
            entityId: c.id,
            action: 'connection.updated',
            payload: { before: redact(prev), after: redact({ ...c }) },
          },
        ]);
      } else {
        // Several workers booting at once may all try to create it: the first wins, the others retry as an update.
        const inserted = await tx.execute(
          'INSERT INTO connections (id, connector, base_url, credentials, settings, origin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
          [c.id, ...sealed, origin, now, now],
        );
        if (!inserted) throw new StaleVersionError('connection', c.id, 0);
        await this.audit.append(tx, [
          {
            actor,
            entityType: AuditEntity.Connection,
            entityId: c.id,
            action: 'connection.created',
            payload: { after: redact({ ...c }) },
          },
        ]);
      }
      return { ...c, origin, createdAt: existing?.created_at ?? now, updatedAt: now } as StoredConnection;
    });
    this.changed(c.id);
    return stored;
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const prev = await this.get(id);
    await this.db.transaction(async (tx) => {
      await tx.execute('DELETE FROM connections WHERE id = ?', [id]);
      await this.audit.append(tx, [
        {
          actor,
          entityType: AuditEntity.Connection,
          entityId: id,
          action: 'connection.deleted',
          payload: { before: redact(prev) },
        },
      ]);
    });
    this.changed(id);
  }

  /** The connection as its connector needs it, secrets resolved from the environment. */
  async context(id: string): Promise<ConnectionContext> {
    const cached = this.contexts.get(id);
    if (cached) return cached;
    const c = await this.get(id);
    const credentials: Record<string, string> = {};
    for (const [k, ref] of Object.entries(c.credentials)) {
      if (typeof ref === 'string') credentials[k] = ref;
      else {
        const v = process.env[ref.env];
        if (v === undefined)
          throw new BadRequestException(
            `connection "${id}": credential "${k}" needs environment variable ${ref.env}, which is not set`,
          );
        credentials[k] = v;
      }
    }
    const ctx: ConnectionContext = {
      id: c.id,
      connector: c.connector,
      baseUrl: c.baseUrl,
      credentials,
      settings: c.settings,
    };
    this.contexts.set(id, ctx);
    return ctx;
  }
}

function toStored(r: Row, pii?: PiiCodec): StoredConnection {
  const credentials = JSON.parse(r.credentials);
  return {
    id: r.id,
    connector: r.connector,
    baseUrl: r.base_url ?? undefined,
    credentials: pii ? pii.openCredentials(credentials) : credentials,
    settings: JSON.parse(r.settings),
    origin: r.origin,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function redact(c: Partial<ConnectionConfig>) {
  return { ...c, credentials: c.credentials ? describeCredentials(c.credentials) : undefined };
}
