// The per-record outcome log (which record, what happened, which mapping and connector version), written by the
// inbound and outbound paths in their own transactions. Details can quote a rejected value, so they are sealed
// like the record itself when PII encryption is on.
import type { PiiCodec } from '../privacy/pii-codec';
import type { Tx } from '../store/database';
import type { OutcomeAction } from './sync.types';

export interface OutcomeRow {
  runId: string | null;
  syncId: string | null;
  customerId: string | null;
  connection: string;
  object: string;
  externalId: string | null;
  direction: 'in' | 'out';
  action: OutcomeAction;
  detail: unknown;
  /** The detail names fields and versions, never a value: stored as is, without a seal to open on every read. */
  valueFree?: boolean;
  mappingVersion: number | null;
  connectorVersion: string | null;
}

const COLUMNS = [
  'run_id',
  'sync_id',
  'customer_id',
  'connection',
  'object',
  'external_id',
  'direction',
  'action',
  'detail',
  'mapping_version',
  'connector_version',
  'at',
];

export async function writeOutcomes(
  tx: Tx,
  outcomes: OutcomeRow[],
  now: string,
  pii?: PiiCodec,
): Promise<void> {
  await tx.insertMany(
    'record_outcomes',
    COLUMNS,
    outcomes.map((o) => {
      const detail = o.detail === null || o.detail === undefined ? null : JSON.stringify(o.detail);
      return [
        o.runId,
        o.syncId,
        o.customerId,
        o.connection,
        o.object,
        o.externalId,
        o.direction,
        o.action,
        detail !== null && pii && !o.valueFree ? pii.sealText(detail) : detail,
        o.mappingVersion,
        o.connectorVersion,
        now,
      ];
    }),
  );
}
