// SQLite: customer_block_keys is nothing but its primary key (block_key, customer_id). As a rowid table that pair was
// stored twice, in the table (by rowid) and in the key's index, and every key a customer gained or lost was written to
// both: ~4 keys a customer, the largest B-trees after the customer rows and their history (a 20,000-contact probe:
// 5.8 MB of table and 6.4 MB of key index). WITHOUT ROWID keeps one B-tree, ordered by the key, which is the order
// detection reads a block in. The customer index then carries the key instead of a rowid. PostgreSQL has no rowid
// (its heap is not a second copy ordered by the key): unchanged there.
import type { MigrationInterface, QueryRunner } from 'typeorm';

const COLUMNS =
  '"block_key" varchar(128) NOT NULL, "customer_id" varchar(36) NOT NULL, PRIMARY KEY ("block_key", "customer_id")';

async function rebuild(q: QueryRunner, suffix: string): Promise<void> {
  if (q.connection.options.type !== 'better-sqlite3') return;
  await q.query(`CREATE TABLE "customer_block_keys_next" (${COLUMNS})${suffix}`);
  await q.query(
    'INSERT INTO "customer_block_keys_next" ("block_key", "customer_id") SELECT "block_key", "customer_id" FROM "customer_block_keys" ORDER BY "block_key", "customer_id"',
  );
  await q.query('DROP TABLE "customer_block_keys"');
  await q.query('ALTER TABLE "customer_block_keys_next" RENAME TO "customer_block_keys"');
  await q.query('CREATE INDEX "ix_block_keys_customer" ON "customer_block_keys" ("customer_id")');
}

export class BlockKeysWithoutRowid1763801500000 implements MigrationInterface {
  name = 'BlockKeysWithoutRowid1763801500000';

  async up(q: QueryRunner): Promise<void> {
    await rebuild(q, ' WITHOUT ROWID');
  }

  async down(q: QueryRunner): Promise<void> {
    await rebuild(q, '');
  }
}
