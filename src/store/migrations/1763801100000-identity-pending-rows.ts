// Customers awaiting duplicate detection as a queue of rows, not one row per customer. With the customer id as the
// key, a page re-queuing a customer that a detection batch had just taken (locked and deleted, not yet committed)
// waited on that batch's row; the batch, merging, waited on the page's customer rows: PostgreSQL found a deadlock
// after a second and rolled one back (dozens of times in a 10,000-contact full sync). Appends never conflict now;
// a batch takes rows by id and handles a customer queued twice once.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { serial, str, ts } from './columns';

const COLUMNS = ['customer_id', 'actor_type', 'actor_id', 'queued_at'];

function queueTable(name: string, withSerial: boolean): Table {
  return new Table({
    name,
    columns: [
      ...(withSerial ? [serial] : []),
      { ...str('customer_id', 36), isPrimary: !withSerial },
      str('actor_type', 32),
      str('actor_id', 128),
      ts('queued_at'),
    ],
  });
}

async function rebuild(q: QueryRunner, withSerial: boolean): Promise<void> {
  await q.createTable(queueTable('identity_pending_next', withSerial));
  // Going back to one row per customer keeps each customer's oldest entry.
  const cols = COLUMNS.join(', ');
  await q.query(
    withSerial
      ? `INSERT INTO identity_pending_next (${cols}) SELECT ${cols} FROM identity_pending ORDER BY queued_at, customer_id`
      : `INSERT INTO identity_pending_next (${cols}) SELECT ${cols} FROM identity_pending p WHERE p.id = (SELECT MIN(o.id) FROM identity_pending o WHERE o.customer_id = p.customer_id)`,
  );
  await q.dropTable('identity_pending');
  await q.renameTable('identity_pending_next', 'identity_pending');
  await q.createIndex(
    'identity_pending',
    new TableIndex({
      name: 'ix_identity_pending_queue',
      columnNames: ['queued_at', withSerial ? 'id' : 'customer_id'],
    }),
  );
  await q.createIndex(
    'identity_pending',
    new TableIndex({
      name: 'ix_identity_pending_actor',
      columnNames: ['actor_type', 'actor_id', 'queued_at'],
    }),
  );
  if (withSerial)
    await q.createIndex(
      'identity_pending',
      new TableIndex({ name: 'ix_identity_pending_customer', columnNames: ['customer_id'] }),
    );
}

export class IdentityPendingRows1763801100000 implements MigrationInterface {
  name = 'IdentityPendingRows1763801100000';

  async up(q: QueryRunner): Promise<void> {
    await rebuild(q, true);
  }

  async down(q: QueryRunner): Promise<void> {
    await rebuild(q, false);
  }
}
