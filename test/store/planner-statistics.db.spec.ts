// PostgreSQL planner statistics kept current by Syncline itself (src/store/planner-statistics.ts): a table grown
// in bulk is analyzed, so a lookup of a few hundred ids uses its index instead of scanning the table.
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { PlannerStatistics } from '../../src/store/planner-statistics';
import { startTestApp, type TestApp } from '../support/test-app';
import { testDatabaseTarget } from '../support/test-database';

const onPostgres = testDatabaseTarget().type === 'postgres';

describe(`planner statistics (${onPostgres ? 'postgres' : 'sqlite'})`, () => {
  let t: TestApp;
  let db: Database;

  beforeAll(async () => {
    t = await startTestApp({ SYNCLINE_BACKGROUND_JOBS: 'off' });
    db = t.app.get(Database);
  });
  afterAll(() => t.close());

  if (!onPostgres) {
    it('has nothing to keep on SQLite (its planner uses no gathered statistics here)', () => {
      expect(db.dialect).toBe('sqlite');
      expect(db.statistics).toBeNull();
    });
    return;
  }

  /** The planner's plan for a lookup of customers merged into 500 given ids: root node and estimated rows. */
  const plan = async (ids: string[]) => {
    const [row] = await db.query<{ 'QUERY PLAN': [{ Plan: { 'Node Type': string; 'Plan Rows': number } }] }>(
      `EXPLAIN (FORMAT JSON) SELECT id, merged_into FROM customers WHERE merged_into IN (${ids.map(() => '?').join(',')})`,
      ids,
    );
    const p = row['QUERY PLAN'][0].Plan;
    return { node: p['Node Type'], rows: p['Plan Rows'] };
  };
  const lastAnalyzed = async (table: string) =>
    (
      await db.query<{ at: string | null }>(
        'SELECT GREATEST(last_analyze, last_autoanalyze) AS at FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ?',
        [table],
      )
    )[0].at;

  it('analyzes a table grown in bulk, after which a lookup of 500 ids uses the index', async () => {
    const now = new Date().toISOString();
    const id = (i: number) => `c-${String(i).padStart(6, '0')}`;
    // 20,000 customers, one in fifty merged into the one before it.
    await db.transaction((tx) =>
      t.app.get(CustomerRepository).insertCustomers(
        tx,
        Array.from({ length: 20_000 }, (_, i) => ({
          id: id(i),
          version: 1,
          emailKey: `k${i}`,
          fields: {},
          provenance: {},
          createdAt: now,
          updatedAt: now,
          mergedInto: i % 50 === 1 ? id(i - 1) : null,
          erasedAt: null,
        })),
      ),
    );
    // The counters the check reads are sent by the backend at the end of its transaction, at most once a second.
    await new Promise((r) => setTimeout(r, 1_200));
    const ids = Array.from({ length: 500 }, (_, i) => id(i * 40));
    await db.statistics!.idle();
    if (!(await lastAnalyzed('customers'))) {
      // Never analyzed (autovacuum off or not yet round): the planner guesses that most rows match and scans.
      const before = await plan(ids);
      expect(before.rows).toBeGreaterThan(2_000);
      expect(before.node).toBe('Seq Scan');
    }
    const stale = await db.statistics!.refresh();
    expect(stale.map((s) => s.table)).toContain('customers');
    expect(stale.find((s) => s.table === 'customers')!.changed).toBeGreaterThanOrEqual(20_000);
    expect(await lastAnalyzed('customers')).not.toBeNull();
    const after = await plan(ids);
    expect(after.rows).toBeLessThan(1_000);
    expect(after.node).not.toBe('Seq Scan');
    // Analyzed now: nothing is stale until the table changes again by a quarter of its size.
    expect((await db.statistics!.refresh()).map((s) => s.table)).not.toContain('customers');
  });

  it('leaves the check to whichever process holds it (one at a time across a cluster)', async () => {
    await db.query(
      "INSERT INTO customer_block_keys (block_key, customer_id) SELECT 'k' || g, 'c' || g FROM generate_series(1, 3000) g",
    );
    await new Promise((r) => setTimeout(r, 1_200));
    await db.statistics!.idle();
    // Another process's check in progress: its transaction holds the schema's advisory lock.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const other = db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':syncline-analyze'))");
      locked();
      await held;
    });
    await isLocked;
    expect(await db.statistics!.refresh()).toEqual([]);
    release();
    await other;
    expect((await db.statistics!.refresh()).map((s) => s.table)).toContain('customer_block_keys');
  });

  it('checks at most once per interval, however many transactions commit', async () => {
    let checks = 0;
    const keeper = new PlannerStatistics(async <T>(fn: (tx: never) => Promise<T>) => {
      checks++;
      return db.transaction(fn as never) as Promise<T>;
    }, 60_000);
    for (let i = 0; i < 20; i++) keeper.touch();
    await keeper.idle();
    keeper.touch();
    await keeper.idle();
    expect(checks).toBe(1);
  });
});
