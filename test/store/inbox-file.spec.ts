// SQLite keeps the webhook inbox in a file of its own beside the database, attached to every connection as schema
// `inbox` (store/data-source.ts): a database from before keeps its deliveries, moved by the migration.
import Sqlite from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataSourceOptions, inboxFileOf, openDataSource } from '../../src/store/data-source';
import { MIGRATIONS } from '../../src/store/schema';

describe('the webhook inbox file (SQLite)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-inbox-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is named after the database', () => {
    expect(inboxFileOf('/data/syncline.sqlite')).toBe('/data/syncline.inbox.sqlite');
    expect(inboxFileOf('./syncline')).toBe('./syncline.inbox');
    expect(inboxFileOf(':memory:')).toBe(':memory:');
  });

  it('receives the deliveries of a database migrated before it existed, with its index', async () => {
    const file = path.join(dir, 'old.sqlite');
    const previous = MIGRATIONS.filter((m) => m.name !== 'InboxFile1763801200000');
    expect(previous.length).toBe(MIGRATIONS.length - 1);
    const old = await openDataSource({
      ...dataSourceOptions({ type: 'sqlite', file }),
      migrations: previous,
    });
    await old.query(
      "INSERT INTO main.webhook_inbox (connection, event_id, event_type, event, status, attempts, received_at, next_attempt_at) VALUES ('hubspot', 'e1', 'upsert', '{}', 'pending', 0, 't', 't'), ('hubspot', 'e2', 'delete', '{}', 'processed', 1, 't', 't')",
    );
    await old.destroy();

    const ds = await openDataSource(dataSourceOptions({ type: 'sqlite', file }));
    try {
      const rows = await ds.query('SELECT event_id, status FROM webhook_inbox ORDER BY event_id');
      expect(rows).toEqual([
        { event_id: 'e1', status: 'pending' },
        { event_id: 'e2', status: 'processed' },
      ]);
    } finally {
      await ds.destroy();
    }
    const main = new Sqlite(file, { readonly: true });
    const inbox = new Sqlite(inboxFileOf(file), { readonly: true });
    try {
      const names = (db: Sqlite.Database) =>
        (
          db.prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'webhook_inbox'").all() as {
            name: string;
          }[]
        )
          .map((r) => r.name)
          .sort();
      expect(names(main)).toEqual([]);
      expect(names(inbox)).toEqual(['ix_inbox_status', 'sqlite_autoindex_webhook_inbox_1', 'webhook_inbox']);
    } finally {
      main.close();
      inbox.close();
    }
  });
});
