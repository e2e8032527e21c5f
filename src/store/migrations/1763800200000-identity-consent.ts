// Identity resolution and consent schema: merge candidates (with score, explanation and the snapshot an undo
// needs), blocking keys for candidate search, and per-customer consent records with their proof.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { ts, str, text, serial } from './columns';

export class IdentityConsent1763800200000 implements MigrationInterface {
  name = 'IdentityConsent1763800200000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'merge_candidates',
        columns: [
          serial,
          str('customer_a', 36),
          str('customer_b', 36),
          { name: 'score', type: 'real' },
          text('explanation', false),
          str('block_key', 128),
          str('status', 16),
          str('decided_by', 128, true),
          str('survivor_id', 36, true),
          text('snapshot'),
          ts('created_at'),
          ts('updated_at'),
        ],
        indices: [
          { name: 'ux_merge_candidates_pair', columnNames: ['customer_a', 'customer_b'], isUnique: true },
          { name: 'ix_merge_candidates_status', columnNames: ['status', 'score'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'customer_block_keys',
        columns: [
          { ...str('block_key', 128), isPrimary: true },
          { ...str('customer_id', 36), isPrimary: true },
        ],
        indices: [{ name: 'ix_block_keys_customer', columnNames: ['customer_id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'consent_records',
        columns: [
          serial,
          str('customer_id', 36),
          str('purpose', 32),
          str('channel', 16),
          str('status', 16),
          ts('at'),
          str('source_connection'),
          text('proof', false),
          ts('recorded_at'),
        ],
        indices: [{ name: 'ix_consent_customer', columnNames: ['customer_id', 'purpose', 'channel', 'at'] }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['consent_records', 'customer_block_keys', 'merge_candidates']) await q.dropTable(t);
  }
}
