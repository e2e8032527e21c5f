// Duplicate detection runs as its own step, outside the inbound page transaction: a page records which customers
// it changed here (in its own transaction, so nothing is lost in a crash), and the detector drains the set in
// batches. A customer changed twice before detection ran is detected once.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { str, ts } from './columns';

export class IdentityPending1763800500000 implements MigrationInterface {
  name = 'IdentityPending1763800500000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'identity_pending',
        columns: [
          { ...str('customer_id', 36), isPrimary: true },
          str('actor_type', 32),
          str('actor_id', 128),
          ts('queued_at'),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('identity_pending');
  }
}
