// The connector contract. A connector is one Nest provider marked with @SynclineConnector(manifest) in its own
// folder under connectors/<id>/; the core talks to vendors only through this interface and never sees SDK types.
import type { ConnectorError } from './connector-error';

export enum ConnectorCapability {
  IncrementalRead = 'incremental-read',
  FullRead = 'full-read',
  BatchWrite = 'batch-write',
  Delete = 'delete',
  Webhooks = 'webhooks',
}

/** What kind of system the vendor is; ESP destinations are consent-gated. */
export enum ConnectorKind {
  Crm = 'crm',
  Esp = 'esp',
  Other = 'other',
}

export interface ConnectorManifest {
  id: string;
  /** Semver of the connector code, stamped on every outcome it produces. */
  version: string;
  displayName: string;
  kind: ConnectorKind;
  /** Vendor objects it reads and writes; each needs mappings/<id>/<object>.yaml. */
  objects: string[];
  capabilities: ConnectorCapability[];
  limits: {
    /** Largest batch `write` accepts in one vendor call (the engine batches to this). */
    maxBatchSize: number;
    /** The vendor's request budget, shared by every worker. */
    rateBudget?: { requests: number; perMs: number };
  };
}

/** A configured connection as a connector sees it: secrets already resolved from the environment. */
export interface ConnectionContext {
  id: string;
  connector: string;
  baseUrl?: string;
  credentials: Record<string, string>;
  settings: Record<string, unknown>;
}

export interface VendorRecord {
  /** The vendor's id for the record. */
  id: string;
  /** The raw vendor record, as the mapping reads it. */
  data: Record<string, unknown>;
  /** The vendor's modification timestamp (ISO 8601), when it has one. */
  modifiedAt?: string;
}

export enum ReadMode {
  Full = 'full',
  Incremental = 'incremental',
}

export interface ReadOptions {
  mode: ReadMode;
  /** Records per page, capped by the connector to what the vendor allows. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface ReadPage {
  records: VendorRecord[];
  /** External ids deleted at the source since the cursor (mirror mode propagates them). */
  deleted: string[];
  /**
   * Opaque cursor that resumes the read right after this page. The engine commits it in the same transaction
   * as the page's data, so a crash resumes from the last committed page.
   */
  cursor: string | null;
}

export interface WriteItem {
  /** Our key for the record (canonical customer id); echoed in the outcome. */
  key: string;
  /** The vendor id if we already know it. */
  externalId?: string;
  /** The vendor record built by the outbound mapping. */
  record: Record<string, unknown>;
}

export enum WriteStatus {
  Created = 'created',
  Updated = 'updated',
  Unchanged = 'unchanged',
  Failed = 'failed',
}

export interface WriteOutcome {
  key: string;
  status: WriteStatus;
  externalId?: string;
  error?: { code: ConnectorError['code']; message: string; retryAfterMs?: number; vendorCode?: string };
}

export interface DeleteOutcome {
  externalId: string;
  status: 'deleted' | 'not-found' | 'failed';
  error?: WriteOutcome['error'];
}

export interface WebhookRequest {
  method: string;
  /** Full URL as the vendor called it (scheme, host, path, query): some signatures cover it. */
  url: string;
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  receivedAt: Date;
}

export enum WebhookEventType {
  Upsert = 'upsert',
  Delete = 'delete',
  /** Consent or deliverability change (unsubscribe, spam report, bounce…). */
  Consent = 'consent',
  /** Vendor events we record but do not act on (opens, clicks…). */
  Other = 'other',
}

export interface WebhookEvent {
  /** The vendor's unique event id: the inbox key that makes redeliveries no-ops. */
  eventId: string;
  type: WebhookEventType;
  object: string;
  /** Vendor record id, when the event is about one. */
  externalId?: string;
  /** Email the event is about (ESP events key on email). */
  email?: string;
  /** The vendor's time of the change (ISO 8601). */
  occurredAt: string;
  /** Record data carried by the event; `partial` means fetch the current record with readByIds. */
  record?: Record<string, unknown>;
  partial: boolean;
  /** For consent events: canonical field values to apply (e.g. emailConsent, unsubscribedAt). */
  fields?: Record<string, string | number | boolean | null>;
  /** Raw vendor event name (e.g. "contact.propertyChange", "unsubscribe"). */
  vendorType: string;
}

export interface WebhookAck {
  status: number;
  contentType: string;
  body: string;
}

export interface WebhookHandler {
  /** Throws WebhookVerificationError (forged / stale / malformed). Must compare signatures in constant time. */
  verify(connection: ConnectionContext, request: WebhookRequest): void;
  /** Parses a verified delivery into typed events; throws WebhookVerificationError(malformed) on a bad body. */
  parse(connection: ConnectionContext, request: WebhookRequest): WebhookEvent[];
  /** The answer the vendor expects (Salesforce wants a SOAP Ack); default 200 with {"ok":true}. */
  ack?(events: WebhookEvent[]): WebhookAck;
}

export interface Connector {
  readonly manifest: ConnectorManifest;
  /** Verifies credentials and reachability; throws ConnectorError (auth on bad credentials). */
  check(connection: ConnectionContext): Promise<void>;
  /** Pages of records after `cursor` (null = from the beginning), bounded in memory however large the source. */
  read(
    connection: ConnectionContext,
    object: string,
    cursor: string | null,
    options: ReadOptions,
  ): AsyncIterable<ReadPage>;
  readByIds(connection: ConnectionContext, object: string, ids: string[]): Promise<VendorRecord[]>;
  /** Writes up to manifest.limits.maxBatchSize records (connectors chunk further if the vendor needs it). */
  write(connection: ConnectionContext, object: string, batch: WriteItem[]): Promise<WriteOutcome[]>;
  delete(connection: ConnectionContext, object: string, externalIds: string[]): Promise<DeleteOutcome[]>;
  /**
   * Permanent deletion for privacy requests (GDPR/CCPA erasure): nothing of the records may remain at the vendor,
   * not in a recycle bin, archive or restore window. Same outcomes as `delete` ('not-found' = already gone).
   * Optional: a connector whose `delete` is already permanent leaves it out, and erasure defaults to `delete`.
   */
  erase?(connection: ConnectionContext, object: string, externalIds: string[]): Promise<DeleteOutcome[]>;
  /**
   * The vendor account the connection writes to (see `vendorAccountKey`), for connections that may share one: two
   * connections to one account take turns pushing, because one person written through both at once (a merge's
   * delete through one, its survivor's update through the other) can leave the vendor with two records. Optional:
   * without it each connection counts as an account of its own.
   */
  accountKey?(connection: ConnectionContext): string;
  readonly webhooks?: WebhookHandler;
}
