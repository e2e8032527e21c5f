// Privacy schema: erasure requests with one tracked step per vendor identity, and key-rotation progress so an
// interrupted rotation resumes where it stopped.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { ts, str } from './columns';

export class Privacy1763800400000 implements MigrationInterface {
  name = 'Privacy1763800400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'erasure_requests',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('customer_id', 36),
          str('status', 16),
          str('actor', 160),
          ts('created_at'),
          ts('updated_at'),
          ts('completed_at', true),
        ],
      }),
    );
    // One request per customer: asking twice returns the first.
    await q.createIndex(
      'erasure_requests',
      new TableIndex({ name: 'ux_erasure_customer', columnNames: ['customer_id'], isUnique: true }),
    );
    await q.createTable(
      new Table({
        name: 'erasure_steps',
        columns: [
          { ...str('request_id', 36), isPrimary: true },
          { ...str('connection'), isPrimary: true },
          { ...str('object'), isPrimary: true },
          { ...str('external_id', 255), isPrimary: true },
          str('status', 16),
          { name: 'attempts', type: 'integer' },
          ts('next_attempt_at'),
          { name: 'last_error', type: 'text', isNullable: true },
          ts('updated_at'),
          ts('confirmed_at', true),
        ],
        indices: [{ name: 'ix_erasure_steps_due', columnNames: ['status', 'next_attempt_at'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'key_rotations',
        columns: [
          { ...str('key_id', 32), isPrimary: true },
          { ...str('table_name'), isPrimary: true },
          { name: 'cursor', type: 'text', isNullable: true },
          str('status', 16),
          { name: 'rewritten', type: 'integer' },
          ts('started_at'),
          ts('updated_at'),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['key_rotations', 'erasure_steps', 'erasure_requests']) await q.dropTable(t);
  }
}
