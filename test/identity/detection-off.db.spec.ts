// Turning duplicate detection off releases the customers still queued for it: the outbox holds a customer back
// until it has been checked, and with detection off nobody would ever check it.
import { randomUUID } from 'node:crypto';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { Database } from '../../src/store/database';
import { startTestApp, type TestApp } from '../support/test-app';

describe(`duplicate detection turned off (${process.env.DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite'})`, () => {
  let t: TestApp;
  let db: Database;

  beforeAll(async () => {
    t = await startTestApp({ SYNCLINE_IDENTITY_MODE: 'off', SYNCLINE_BACKGROUND_JOBS: 'off' });
    db = t.app.get(Database);
  });
  afterAll(() => t.close());

  it('releases, at start, the customers queued for detection while it was on', async () => {
    const now = new Date().toISOString();
    const queued = [randomUUID(), randomUUID(), randomUUID()];
    // What a process with detection on left behind (a page queued them, no drain ran before the restart).
    await db.transaction((tx) =>
      tx.insertMany(
        'identity_pending',
        ['customer_id', 'actor_type', 'actor_id', 'queued_at'],
        queued.map((id) => [id, 'sync_run', 'run-1', now]),
      ),
    );
    const count = async () => Number((await db.query('SELECT COUNT(*) AS n FROM identity_pending'))[0].n);
    expect(await count()).toBe(3);
    // The next start with detection off (the hook Nest runs when the application boots).
    await t.app.get(DuplicateDetector).onApplicationBootstrap();
    expect(await count()).toBe(0);
  });
});
