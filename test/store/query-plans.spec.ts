// The scheduler's sweep asks every two seconds which destinations have due outbox rows, and progress views count
// pending rows. The outbox keeps a row per customer and destination, so a query that scans it blocks the event
// loop for longer as the base grows. SQLite's own planner answers which index each of those queries uses.
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { startTestApp, type TestApp } from '../support/test-app';

describe('outbox status queries use the pending-rows index (SQLite planner)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // SQLite's planner is the one asked, whatever database the rest of the run uses.
    t = await startTestApp({ DATABASE_URL: 'sqlite::memory:' });
  });
  afterAll(() => t.close());

  it('due destinations, next due time and pending counts read only pending rows', async () => {
    const db = t.app.get(Database);
    const outbox = t.app.get(OutboxService);
    const issued: { sql: string; params: unknown[] }[] = [];
    const query = jest.spyOn(db, 'query');
    try {
      await outbox.dueTargets();
      await outbox.nextDueAt();
      await outbox.pendingCount();
      await outbox.pendingCount('sendgrid');
      for (const [sql, params] of query.mock.calls)
        if (/FROM outbox/.test(sql)) issued.push({ sql, params: params ?? [] });
    } finally {
      query.mockRestore();
    }
    expect(issued).toHaveLength(4);
    for (const q of issued) {
      const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${q.sql}`, q.params))
        .map((r) => r.detail)
        .join(' | ');
      expect({ sql: q.sql, plan }).toEqual({
        sql: q.sql,
        plan: expect.stringContaining('ix_outbox_pending'),
      });
    }
  });
});
