// SQLite keeps customers' block keys and identities in WITHOUT ROWID tables (one B-tree ordered by the key, not a
// table and an index holding the same rows): a database migrated before keeps them, and the planner still finds
// them by key and by customer.
import Sqlite from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataSourceOptions, openDataSource } from '../../src/store/data-source';
import { MIGRATIONS } from '../../src/store/schema';

describe('the block keys and identities tables (SQLite)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-keys-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('moves the rows of a database migrated before into tables without rowids, and back on undo', async () => {
    const file = path.join(dir, 'old.sqlite');
    const previous = MIGRATIONS.filter((m) => m.name !== 'KeyTablesWithoutRowid1763801500000');
    expect(previous.length).toBe(MIGRATIONS.length - 1);
    const old = await openDataSource({
      ...dataSourceOptions({ type: 'sqlite', file }),
      migrations: previous,
    });
    await old.query(
      "INSERT INTO customer_block_keys (block_key, customer_id) VALUES ('n:LFLS:a', 'c2'), ('n:LFLS:a', 'c1'), ('e:ada', 'c1')",
    );
    await old.query(
      "INSERT INTO customer_identities (connection, object, external_id, customer_id, created_at) VALUES ('salesforce', 'Contact', '003A', 'c1', 't'), ('sendgrid', 'contacts', 'sg-1', 'c1', 't')",
    );
    await old.destroy();

    const tableSql = (name = 'customer_block_keys') => {
      const db = new Sqlite(file, { readonly: true });
      try {
        const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
        return (row as { sql: string }).sql;
      } finally {
        db.close();
      }
    };
    const ds = await openDataSource(dataSourceOptions({ type: 'sqlite', file }));
    try {
      expect(tableSql()).toMatch(/WITHOUT ROWID$/);
      expect(tableSql('customer_identities')).toMatch(/WITHOUT ROWID$/);
      expect(
        await ds.query('SELECT external_id, customer_id FROM customer_identities ORDER BY external_id'),
      ).toEqual([
        { external_id: '003A', customer_id: 'c1' },
        { external_id: 'sg-1', customer_id: 'c1' },
      ]);
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
      expect(
        await plan(
          "SELECT customer_id FROM customer_identities WHERE connection = 'salesforce' AND object = 'Contact' AND external_id IN ('003A', '003B')",
        ),
      ).toMatch(
        /SEARCH customer_identities USING PRIMARY KEY \(connection=\? AND object=\? AND external_id=\?\)/,
      );
      expect(
        await plan(
          "SELECT connection, object, external_id FROM customer_identities WHERE customer_id = 'c1'",
        ),
      ).toMatch(/SEARCH customer_identities USING COVERING INDEX ix_identities_customer \(customer_id=\?\)/);
      // A duplicate pair is still refused by the key.
      await expect(
        ds.query("INSERT INTO customer_block_keys (block_key, customer_id) VALUES ('e:ada', 'c1')"),
      ).rejects.toThrow(/UNIQUE|PRIMARY KEY/);
      await ds.undoLastMigration();
      expect(tableSql()).not.toMatch(/WITHOUT ROWID/);
      expect(tableSql('customer_identities')).not.toMatch(/WITHOUT ROWID/);
      expect(Number((await ds.query('SELECT COUNT(*) AS n FROM customer_identities'))[0].n)).toBe(2);
      expect(Number((await ds.query('SELECT COUNT(*) AS n FROM customer_block_keys'))[0].n)).toBe(3);
    } finally {
      await ds.destroy();
    }
  });
});
