// Sync engine schema: connections and syncs (from syncline.yaml and the admin API), cursors, run history,
// per-record outcomes, the outbox (one row per destination and customer, coalesced), destination state for
// no-op detection, the webhook inbox and the quarantine.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { ts, str, text, int, serial } from './columns';

export class SyncEngine1763800100000 implements MigrationInterface {
  name = 'SyncEngine1763800100000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'connections',
        columns: [
          { ...str('id'), isPrimary: true },
          str('connector'),
          str('base_url', 512, true),
          text('credentials', false),
          text('settings', false),
          str('origin', 16),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'syncs',
        columns: [
          { ...str('id'), isPrimary: true },
          text('definition', false),
          int('paused'),
          str('origin', 16),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'sync_cursors',
        columns: [
          { ...str('sync_id'), isPrimary: true },
          text('cursor'),
          str('stage', 32),
          str('run_id', 36, true),
          ts('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'sync_leases',
        columns: [
          { ...str('sync_id'), isPrimary: true },
          str('run_id', 36),
          str('owner', 128),
          ts('expires_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'sync_runs',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('sync_id'),
          str('trigger', 16),
          int('dry_run'),
          str('status', 16),
          str('mode', 16),
          ts('started_at'),
          ts('finished_at', true),
          text('cursor_before'),
          text('cursor_after'),
          text('counts', false),
          text('errors'),
          str('owner', 128),
        ],
        indices: [{ name: 'ix_runs_sync', columnNames: ['sync_id', 'started_at'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'record_outcomes',
        columns: [
          serial,
          str('run_id', 36, true),
          str('sync_id', 64, true),
          str('customer_id', 36, true),
          str('connection'),
          str('object'),
          str('external_id', 255, true),
          str('direction', 8),
          str('action', 16),
          text('detail'),
          int('mapping_version', true),
          str('connector_version', 32, true),
          ts('at'),
        ],
        indices: [
          { name: 'ix_outcomes_run', columnNames: ['run_id'] },
          { name: 'ix_outcomes_customer', columnNames: ['customer_id'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'outbox',
        columns: [
          serial,
          str('connection'),
          str('object'),
          str('customer_id', 36),
          str('op', 8),
          str('sync_id', 64, true),
          int('customer_version'),
          str('status', 16),
          int('attempts'),
          ts('next_attempt_at'),
          text('last_error'),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createIndex(
      'outbox',
      new TableIndex({
        name: 'ux_outbox_target',
        columnNames: ['connection', 'object', 'customer_id'],
        isUnique: true,
      }),
    );
    await q.createIndex(
      'outbox',
      new TableIndex({
        name: 'ix_outbox_due',
        columnNames: ['connection', 'object', 'status', 'next_attempt_at'],
      }),
    );
    await q.createTable(
      new Table({
        name: 'destination_state',
        columns: [
          { ...str('connection'), isPrimary: true },
          { ...str('object'), isPrimary: true },
          { ...str('customer_id', 36), isPrimary: true },
          str('external_id', 255, true),
          str('last_hash', 64),
          int('last_version'),
          ts('pushed_at'),
        ],
        indices: [{ name: 'ix_destination_external', columnNames: ['connection', 'object', 'external_id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'webhook_inbox',
        columns: [
          { ...str('connection'), isPrimary: true },
          { ...str('event_id', 255), isPrimary: true },
          str('event_type', 16),
          text('event', false),
          str('status', 16),
          int('attempts'),
          ts('received_at'),
          ts('next_attempt_at'),
          ts('processed_at', true),
          text('last_error'),
        ],
        indices: [{ name: 'ix_inbox_status', columnNames: ['status', 'next_attempt_at'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'quarantine',
        columns: [
          serial,
          str('connection'),
          str('object'),
          str('external_id', 255),
          str('sync_id', 64, true),
          text('record', false),
          text('reasons', false),
          int('mapping_version', true),
          str('status', 16),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createIndex(
      'quarantine',
      new TableIndex({
        name: 'ux_quarantine_record',
        columnNames: ['connection', 'object', 'external_id'],
        isUnique: true,
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'quarantine',
      'webhook_inbox',
      'destination_state',
      'outbox',
      'record_outcomes',
      'sync_runs',
      'sync_leases',
      'sync_cursors',
      'syncs',
      'connections',
    ]) {
      await q.dropTable(t);
    }
  }
}
