// Audit vocabulary: who acted, on what, and how.
export enum ActorType {
  SyncRun = 'sync-run',
  Webhook = 'webhook',
  Api = 'api',
  Cli = 'cli',
  System = 'system',
}

export enum AuditEntity {
  Customer = 'customer',
  Connection = 'connection',
  Sync = 'sync',
  Mapping = 'mapping',
  Erasure = 'erasure',
  Quarantine = 'quarantine',
}

export interface Actor {
  type: ActorType;
  /** Run id, webhook delivery id, token fingerprint, CLI user… */
  id: string;
}

export interface AuditInput {
  actor: Actor;
  entityType: AuditEntity;
  entityId: string;
  action: string;
  /** Changed fields with before/after, or any details. Kept beside the chain, never inside the hash. */
  payload: unknown;
  correlationId?: string | null;
  /**
   * The payload's `changes` are the customer version row (entityId, payload.version)'s changes: the entry stores a
   * reference instead of a second copy, and its digest still covers the changes, so editing the version row
   * breaks verification. Readers get the payload whole.
   */
  changesInVersion?: boolean;
}

export interface AuditEntry {
  seq: number;
  partition: number;
  pseq: number;
  at: string;
  actorType: ActorType;
  actorId: string;
  entityType: string;
  entityId: string;
  action: string;
  correlationId: string | null;
  payload: unknown;
  redactedAt: string | null;
  digest: string;
  prevHash: string;
  hash: string;
}
