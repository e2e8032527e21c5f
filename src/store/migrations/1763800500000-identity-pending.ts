// Duplicate detection runs as its own step, outside the inbound page transaction: a page records which customers
// it changed here (in its own transaction, so nothing is lost in a crash), and the detector drains the set in
// batches. A customer changed twice before detection ran is detected once.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
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
    // A merge clears the loser's queued pushes across destinations: by customer, not by destination first.
    await q.createIndex(
      'outbox',
      new TableIndex({ name: 'ix_outbox_customer', columnNames: ['customer_id'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('outbox', 'ix_outbox_customer');
    await q.dropTable('identity_pending');
  }
}
