// SQLite: customer_block_keys is nothing but its primary key (block_key, customer_id), and customer_identities little
// more than its own (connection, object, external_id). As rowid tables each row was stored twice, in the table (by
// rowid) and in the key's index, and written to both: ~4 block keys and an identity per customer, among the
// largest B-trees after the customer rows and their history (a 20,000-contact probe: block keys 5.8 MB of table and
// 6.4 MB of key index). WITHOUT ROWID keeps one B-tree ordered by the key, which is how both are read (a block in
// customer order; identities by connection, object and ids). Their customer indexes then carry the key instead of
// a rowid. PostgreSQL has no rowid (its heap is not a second copy ordered by the key): unchanged there.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { rebuildSqliteTable, type SqliteTableShape } from './sqlite-rebuild';

const TABLES: SqliteTableShape[] = [
  {
    name: 'customer_block_keys',
    definition:
      '"block_key" varchar(128) NOT NULL, "customer_id" varchar(36) NOT NULL, PRIMARY KEY ("block_key", "customer_id")',
    columns: ['block_key', 'customer_id'],
    key: ['block_key', 'customer_id'],
    indexes: ['CREATE INDEX "ix_block_keys_customer" ON "customer_block_keys" ("customer_id")'],
  },
  {
    name: 'customer_identities',
    definition:
      '"connection" varchar(64) NOT NULL, "object" varchar(64) NOT NULL, "external_id" varchar(255) NOT NULL, "customer_id" varchar(36) NOT NULL, "created_at" varchar(30) NOT NULL, PRIMARY KEY ("connection", "object", "external_id")',
    columns: ['connection', 'object', 'external_id', 'customer_id', 'created_at'],
    key: ['connection', 'object', 'external_id'],
    indexes: ['CREATE INDEX "ix_identities_customer" ON "customer_identities" ("customer_id")'],
  },
];

export class KeyTablesWithoutRowid1763801500000 implements MigrationInterface {
  name = 'KeyTablesWithoutRowid1763801500000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of TABLES) await rebuildSqliteTable(q, t, ' WITHOUT ROWID');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of TABLES) await rebuildSqliteTable(q, t, '');
  }
}
