// SQLite keeps a customer's block keys in a WITHOUT ROWID table (one B-tree ordered by the key, not a table and an
// index holding the same pairs): a database migrated before keeps its keys, and the planner still finds a block and a
// customer's keys by index.
import Sqlite from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataSourceOptions, openDataSource } from '../../src/store/data-source';
import { MIGRATIONS } from '../../src/store/schema';

describe('the block keys table (SQLite)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-keys-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('moves the keys of a database migrated before into a table without rowids, and back on undo', async () => {
    const file = path.join(dir, 'old.sqlite');
    const previous = MIGRATIONS.filter((m) => m.name !== 'BlockKeysWithoutRowid1763801500000');
    expect(previous.length).toBe(MIGRATIONS.length - 1);
    const old = await openDataSource({
      ...dataSourceOptions({ type: 'sqlite', file }),
      migrations: previous,
    });
    await old.query(
      "INSERT INTO customer_block_keys (block_key, customer_id) VALUES ('n:LFLS:a', 'c2'), ('n:LFLS:a', 'c1'), ('e:ada', 'c1')",
    );
    await old.destroy();

    const tableSql = () => {
      const db = new Sqlite(file, { readonly: true });
      try {
        return (
          db
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'customer_block_keys'")
            .get() as {
            sql: string;
          }
        ).sql;
      } finally {
        db.close();
      }
    };
    const ds = await openDataSource(dataSourceOptions({ type: 'sqlite', file }));
    try {
      expect(tableSql()).toMatch(/WITHOUT ROWID$/);
      expect(
        await ds.query(
          'SELECT block_key, customer_id FROM customer_block_keys ORDER BY block_key, customer_id',
        ),
      ).toEqual([
        { block_key: 'e:ada', customer_id: 'c1' },
        { block_key: 'n:LFLS:a', customer_id: 'c1' },
        { block_key: 'n:LFLS:a', customer_id: 'c2' },
      ]);
      const plan = async (sql: string) =>
        ((await ds.query(`EXPLAIN QUERY PLAN ${sql}`)) as { detail: string }[])
          .map((r) => r.detail)
          .join(' | ');
      expect(
        await plan(
          "SELECT customer_id FROM customer_block_keys WHERE block_key = 'e:ada' ORDER BY customer_id LIMIT 51",
        ),
      ).toMatch(/SEARCH customer_block_keys USING PRIMARY KEY \(block_key=\?\)/);
      expect(await plan("SELECT block_key FROM customer_block_keys WHERE customer_id = 'c1'")).toMatch(
        /SEARCH customer_block_keys USING COVERING INDEX ix_block_keys_customer \(customer_id=\?\)/,
      );
      // A duplicate pair is still refused by the key.
      await expect(
        ds.query("INSERT INTO customer_block_keys (block_key, customer_id) VALUES ('e:ada', 'c1')"),
      ).rejects.toThrow(/UNIQUE|PRIMARY KEY/);
      await ds.undoLastMigration();
      expect(tableSql()).not.toMatch(/WITHOUT ROWID/);
      expect(Number((await ds.query('SELECT COUNT(*) AS n FROM customer_block_keys'))[0].n)).toBe(3);
    } finally {
      await ds.destroy();
    }
  });
});
