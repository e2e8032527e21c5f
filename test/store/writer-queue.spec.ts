// SQLite has one writer, so Database runs transactions one at a time. Webhook acknowledgements wait on theirs
// ("urgent"), so those go ahead of queued work, but a steady stream of them must not starve the rest: a webhook's
// own processing waited seconds behind acknowledgements in the webhook benchmark before the two queues took turns.
import { DataSource } from 'typeorm';
import { Database } from '../../src/store/database';

describe('SQLite writer queue', () => {
  let ds: DataSource;
  let db: Database;
  beforeAll(async () => {
    ds = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    await ds.initialize();
    db = new Database(ds);
    await db.query('CREATE TABLE ran (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)');
  });
  afterAll(() => ds.destroy());

  async function order(submit: (run: (name: string, urgent: boolean) => Promise<void>) => void) {
    await db.query('DELETE FROM ran');
    const all: Promise<void>[] = [];
    submit((name, urgent) => {
      const p = db.transaction(
        async (tx) => void (await tx.execute('INSERT INTO ran (name) VALUES (?)', [name])),
        0,
        { urgent },
      );
      all.push(p);
      return p;
    });
    await Promise.all(all);
    return (await db.query<{ name: string }>('SELECT name FROM ran ORDER BY seq')).map((r) => r.name);
  }

  it('runs an urgent transaction before the ones already queued', async () => {
    const ran = await order((run) => {
      for (const n of ['n1', 'n2', 'n3']) void run(n, false);
      void run('u1', true);
    });
    expect(ran).toEqual(['u1', 'n1', 'n2', 'n3']);
  });

  it('lets queued work take turns with a stream of urgent transactions instead of starving', async () => {
    const ran = await order((run) => {
      for (const n of ['n1', 'n2']) void run(n, false);
      for (const u of ['u1', 'u2', 'u3', 'u4']) void run(u, true);
    });
    expect(ran).toEqual(['u1', 'n1', 'u2', 'n2', 'u3', 'u4']);
  });

  it('keeps first-in-first-out order within each queue', async () => {
    const ran = await order((run) => {
      for (let i = 1; i <= 5; i++) void run(`n${i}`, false);
    });
    expect(ran).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it('runs a write given to query() as a transaction of its own, never inside one that is open', async () => {
    await db.query('DELETE FROM ran');
    let inside!: () => void;
    const opened = new Promise<void>((r) => (inside = r));
    // A transaction that writes, waits (as one does on a vendor read or a lock), then fails and rolls back.
    const failing = db
      .transaction(async (tx) => {
        await tx.execute('INSERT INTO ran (name) VALUES (?)', ['rolled back']);
        inside();
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('vendor outage');
      }, 0)
      .catch((e: Error) => e.message);
    await opened;
    // On the shared connection this INSERT would have joined the open transaction and vanished with it.
    const write = db.query('INSERT INTO ran (name) VALUES (?)', ['kept']);
    expect(await failing).toBe('vendor outage');
    await write;
    expect((await db.query<{ name: string }>('SELECT name FROM ran')).map((r) => r.name)).toEqual(['kept']);
  });
});
