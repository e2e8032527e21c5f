// Background WAL checkpoints: a worker thread on its own connection copies the WAL back into the database file, so
// the engine's commits never pay for a checkpoint, and the WAL still stays bounded (it restarts from its start once
// copied). Real SQLite files, a real worker thread.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions, inboxFileOf, openDataSource } from '../../src/store/data-source';
import { BACKSTOP_PAGES, WalCheckpointer, WalCheckpointThread } from '../../src/store/wal-checkpointer';

const PAGE = 4096;

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WAL checkpoints on a background thread', () => {
  let dir: string;
  let file: string;
  let ds: DataSource;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-wal-'));
    file = path.join(dir, 'db.sqlite');
    ds = await openDataSource(dataSourceOptions({ type: 'sqlite', file }));
    await ds.query('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  });
  afterEach(async () => {
    if (ds.isInitialized) await ds.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const walBytes = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
  /** One transaction of ~`pages` pages of new rows. */
  async function write(pages: number): Promise<void> {
    await ds.transaction(async (m) => {
      for (let i = 0; i < pages; i++) await m.query('INSERT INTO blobs (body) VALUES (randomblob(4000))');
    });
  }

  it('copies committed frames back while the engine keeps writing, keeping the WAL to about one batch', async () => {
    // No automatic checkpoint at all on the engine's connection: whatever is copied back, the thread copied.
    await ds.query('PRAGMA wal_autocheckpoint = 0');
    const thread = new WalCheckpointThread(file, 5);
    try {
      for (let batch = 0; batch < 8; batch++) {
        await write(200);
        const written = (await thread.stats())!.runs;
        // Wait until a checkpoint that started after this batch has copied all of it; the next write then
        // restarts the WAL from its beginning.
        const s = await until(async () => {
          const st = await thread.stats();
          return st && st.runs > written && st.checkpointedFrames === st.walFrames ? st : undefined;
        }, 'the thread to copy the batch back');
        expect(s.walFrames).toBeGreaterThanOrEqual(200);
      }
      // 8 batches of ~200 pages each were written; with no automatic checkpoint, the WAL file would hold all of
      // them. It never held much more than one batch.
      expect(walBytes()).toBeLessThan(3 * 200 * (PAGE + 24) + 32);
      expect((await thread.stats())?.lastError).toBeUndefined();
    } finally {
      await thread.stop();
    }
    // Stopped: no stats, and the database is whole.
    expect(await thread.stats()).toBeUndefined();
    const [{ n }] = await ds.query('SELECT COUNT(*) AS n FROM blobs');
    expect(Number(n)).toBe(8 * 200);
  });

  it('is started for a file database, leaving the engine only a far backstop threshold', async () => {
    const cp = new WalCheckpointer(ds);
    await cp.onModuleInit();
    try {
      expect(cp.active).toBe(true);
      const [row] = await ds.query('PRAGMA wal_autocheckpoint');
      expect(Number(Object.values(row)[0])).toBe(BACKSTOP_PAGES);
      await write(100);
      const s = await until(async () => {
        const st = await cp.stats();
        return st && st.checkpointedFrames >= 100 ? st : undefined;
      }, 'a background checkpoint');
      expect(s.runs).toBeGreaterThan(0);
    } finally {
      await cp.onModuleDestroy();
    }
    expect(cp.active).toBe(false);
    expect(await cp.stats()).toBeUndefined();
  });

  it('also checkpoints the webhook inbox, a file of its own beside the database', async () => {
    const inboxWal = `${inboxFileOf(file)}-wal`;
    await ds.query('PRAGMA wal_autocheckpoint = 0');
    const cp = new WalCheckpointer(ds);
    cp.intervalMs = 50;
    await cp.onModuleInit();
    await ds.query('PRAGMA wal_autocheckpoint = 0');
    const event = 'x'.repeat(3500);
    const deliver = (from: number) =>
      ds.transaction(async (m) => {
        for (let i = from; i < from + 200; i++)
          await m.query(
            "INSERT INTO webhook_inbox (connection, event_id, event_type, event, status, attempts, received_at, next_attempt_at) VALUES ('c', ?, 'upsert', ?, 'pending', 0, '', '')",
            [String(i), event],
          );
      });
    try {
      for (let batch = 0; batch < 6; batch++) {
        await deliver(batch * 200);
        const runs = (await cp.stats())!.runs;
        await until(async () => ((await cp.stats())!.runs > runs + 1 ? true : undefined), 'two checkpoints');
      }
      // Six batches of ~200 pages; with no checkpoint of the inbox the WAL would hold them all.
      expect(fs.statSync(inboxWal).size).toBeLessThan(3 * 200 * (PAGE + 24) + 32);
      expect((await cp.stats())?.lastError).toBeUndefined();
    } finally {
      await cp.onModuleDestroy();
    }
  });

  it('is not started for an in-memory database', async () => {
    const mem = await openDataSource(dataSourceOptions({ type: 'sqlite', file: ':memory:' }));
    try {
      const cp = new WalCheckpointer(mem);
      await cp.onModuleInit();
      expect(cp.active).toBe(false);
      await cp.onModuleDestroy();
    } finally {
      await mem.destroy();
    }
  });
});
