// What a connector folder provides so the conformance kit (test/conformance/) can check it with no
// per-connector test code: connectors/<id>/conformance.ts exports `conformance: ConformanceProfile`.
import type { VendorSandbox } from '../sandbox/sandbox.types';
import type { ConnectionContext, WebhookRequest, WriteItem } from './connector.types';

export type WebhookVariant = 'valid' | 'forged' | 'stale' | 'tampered';

export interface ConformanceHarness {
  sandbox: VendorSandbox;
  /** A connection with valid credentials against the sandbox. */
  connection: ConnectionContext;
  /** The same connection with rejected credentials. */
  badCredentials: ConnectionContext;
  /** Vendor object exercised by the kit (read, write, mapping round trip). */
  object: string;
  /** Vendor ids of every live record the sandbox holds for `object`. */
  recordIds(): Promise<string[]>;
  /**
   * Edits records as a vendor user would. With `sameTimestamp`, all of them get one identical modification
   * timestamp (a mass update), which is what breaks naive incremental cursors at page boundaries.
   */
  edit(ids: string[], sameTimestamp: boolean): Promise<void>;
  /** `count` new records to write, valid for the vendor. */
  newRecords(count: number): WriteItem[];
  /** A webhook delivery as the vendor would send it (or a forged / stale / tampered one) for the given ids. */
  webhook(variant: WebhookVariant, ids: string[]): Promise<WebhookRequest> | WebhookRequest;
  /** The page size the kit should read with, small enough that paging is exercised. */
  pageSize: number;
  close(): Promise<void>;
}

export interface ConformanceProfile {
  connectorId: string;
  start(options: { count: number; seed: number }): Promise<ConformanceHarness>;
}
