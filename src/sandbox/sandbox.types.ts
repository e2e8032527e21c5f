// Shapes shared by every vendor sandbox (connectors/<vendor>/sandbox/). Types only; no behaviour lives here.
import type { FaultInjector } from './faults';
import type { WebhookDispatcher } from './webhooks';

export interface VendorSandbox {
  vendor: string;
  url: string;
  faults: FaultInjector;
  webhooks: WebhookDispatcher;
  credentials: Record<string, string>;
  seed(count: number, seed?: number): void;
  reset(): void;
  mutate(id: string, fields: Record<string, unknown>): void;
  massUpdate(ids: string[] | undefined, fields: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface SandboxOptions {
  port?: number;
  host?: string;
  seed?: number;
  count?: number;
  webhookUrl?: string;
}

/** What `GET /__admin/state` returns from a sandbox: a summary (counts, cursors, clocks) and the records. */
export interface SandboxState {
  summary: Record<string, unknown>;
  records: unknown[];
}

/**
 * What the admin router drives. A VendorSandbox satisfies it as is; `state` is optional so a sandbox without a
 * state view still gets the other routes (GET /state then answers just the fault and webhook settings).
 * Methods may return a promise; the router awaits them. Throw a SandboxAdminError(404, …) for an unknown id.
 */
export interface SandboxAdminTarget {
  faults: FaultInjector;
  webhooks: WebhookDispatcher;
  seed(count: number, seed?: number): void | Promise<void>;
  reset(): void | Promise<void>;
  mutate(id: string, fields: Record<string, unknown>): unknown;
  massUpdate(ids: string[] | undefined, fields: Record<string, unknown>): unknown;
  state?(): SandboxState | Promise<SandboxState>;
}
