// Which blocking rules the stored block keys were made by. A customer's keys are recomputed whenever it is detected
// again, but a release that changes the rules (src/identity/blocking.ts) would otherwise leave every customer not
// touched since keyed by the old ones, out of reach of the new keys of the customers that arrive: duplicates missed
// without a word. One row: the rules' version the whole base is keyed by, and how far a re-keying has come (see
// BlockKeyRules). The stores this migration finds were keyed by version 1, the rules when it was written.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { int, str, ts } from './columns';

export class BlockKeyRules1763801700000 implements MigrationInterface {
  name = 'BlockKeyRules1763801700000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'block_key_rules',
        columns: [
          { ...int('id'), isPrimary: true },
          int('version'),
          // Customers up to this id (in id order) are queued for detection under the rules being moved to.
          str('rekeyed_through', 36, true),
          ts('updated_at'),
        ],
      }),
    );
    await q.query(
      `INSERT INTO block_key_rules (id, version, rekeyed_through, updated_at) VALUES (1, 1, NULL, '${new Date().toISOString()}')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('block_key_rules');
  }
}
