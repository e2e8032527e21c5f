// PostgreSQL tables kept by Syncline itself (src/store/table-maintenance.ts): a table grown in bulk is analyzed, so a
// lookup of a few hundred ids uses its index instead of scanning the table; a queue table's dead rows are vacuumed.
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { poolSession, TableMaintenance } from '../../src/store/table-maintenance';
import { startTestApp, type TestApp } from '../support/test-app';
import { testDatabaseTarget } from '../support/test-database';

const onPostgres = testDatabaseTarget().type === 'postgres';

describe(`table maintenance (${onPostgres ? 'postgres' : 'sqlite'})`, () => {
  let t: TestApp;
  let db: Database;

  beforeAll(async () => {
    t = await startTestApp({ SYNCLINE_BACKGROUND_JOBS: 'off' });
    db = t.app.get(Database);
  });
  afterAll(() => t.close());

  if (!onPostgres) {
    it('has nothing to keep on SQLite (its planner uses no gathered statistics here, and it reuses freed pages itself)', () => {
      expect(db.dialect).toBe('sqlite');
      expect(db.maintenance).toBeNull();
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

  /**
   * A table's change counters, once they show at least `min` in `counter`: a backend sends its counters at the end
   * of a transaction at most once a second, else once it has idled for up to 10 s (PostgreSQL 15).
   */
  const countersOnce = async (table: string, counter: 'n_dead_tup' | 'n_mod_since_analyze', min: number) => {
    const read = async () =>
      (
        await db.query<{ n: string; vacuumed: string | null }>(
          `SELECT ${counter} AS n, last_vacuum AS vacuumed FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ?`,
          [table],
        )
      )[0];
    for (const until = Date.now() + 15_000; Number((await read()).n) < min && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 250));
    const c = await read();
    return { n: Number(c.n), vacuumed: c.vacuumed };
  };

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
    expect((await countersOnce('customers', 'n_mod_since_analyze', 20_000)).n).toBeGreaterThanOrEqual(20_000);
    const ids = Array.from({ length: 500 }, (_, i) => id(i * 40));
    await db.maintenance!.idle();
    if (!(await lastAnalyzed('customers'))) {
      // Never analyzed (autovacuum off or not yet round): the planner guesses that most rows match and scans.
      const before = await plan(ids);
      expect(before.rows).toBeGreaterThan(2_000);
      expect(before.node).toBe('Seq Scan');
    }
    const stale = await db.maintenance!.refresh();
    expect(stale.map((s) => s.table)).toContain('customers');
    expect(stale.find((s) => s.table === 'customers')).toMatchObject({ analyze: true, vacuum: false });
    expect(stale.find((s) => s.table === 'customers')!.changed).toBeGreaterThanOrEqual(20_000);
    expect(await lastAnalyzed('customers')).not.toBeNull();
    const after = await plan(ids);
    expect(after.rows).toBeLessThan(1_000);
    expect(after.node).not.toBe('Seq Scan');
    // Analyzed now: nothing is stale until the table changes again by as many rows as it holds.
    expect((await db.maintenance!.refresh()).map((s) => s.table)).not.toContain('customers');
  });

  it('vacuums a queue table whose dead rows pile up, so its pages are reused instead of growing', async () => {
    await db.maintenance!.idle();
    const pages = async () =>
      Number((await db.query<{ n: string }>("SELECT pg_relation_size('identity_pending') / 8192 AS n"))[0].n);
    // 10,000 customers queued for duplicate detection, then detected (deleted): twice.
    const queueAndDetect = async () => {
      await db.query(
        "INSERT INTO identity_pending (customer_id, actor_type, actor_id, queued_at) SELECT 'c' || g, 'sync', 'bulk', '2026-12-07T00:00:00.000Z' FROM generate_series(1, 10000) g",
      );
      const filled = await pages();
      await db.query('DELETE FROM identity_pending');
      return filled;
    };
    const onePass = await queueAndDetect();
    expect(await queueAndDetect()).toBeGreaterThanOrEqual(2 * onePass - 2);
    expect((await countersOnce('identity_pending', 'n_dead_tup', 20_000)).n).toBeGreaterThanOrEqual(20_000);
    const done = await db.maintenance!.refresh();
    const queue = done.find((t) => t.table === 'identity_pending');
    expect(queue).toMatchObject({ vacuum: true });
    expect(queue!.dead).toBeGreaterThanOrEqual(20_000);
    const after = await countersOnce('identity_pending', 'n_dead_tup', 0);
    expect(after.n).toBeLessThan(1_000);
    expect(after.vacuumed).not.toBeNull();
    // Vacuumed: nothing is due until dead rows pile up again.
    expect((await db.maintenance!.refresh()).map((s) => s.table)).not.toContain('identity_pending');
    // The next 10,000 fit in the space the vacuum freed: without it, the table would have grown to three passes.
    expect(await queueAndDetect()).toBeLessThanOrEqual(onePass + 2);
  });

  it('leaves the check to whichever process holds it (one at a time across a cluster)', async () => {
    await db.query(
      "INSERT INTO customer_block_keys (block_key, customer_id) SELECT 'k' || g, 'c' || g FROM generate_series(1, 3000) g",
    );
    expect(
      (await countersOnce('customer_block_keys', 'n_mod_since_analyze', 3_000)).n,
    ).toBeGreaterThanOrEqual(3_000);
    await db.maintenance!.idle();
    // Another process's check in progress: its transaction holds the schema's advisory lock.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const other = db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':syncline-maintenance'))");
      locked();
      await held;
    });
    await isLocked;
    expect(await db.maintenance!.refresh()).toEqual([]);
    release();
    await other;
    expect((await db.maintenance!.refresh()).map((s) => s.table)).toContain('customer_block_keys');
  });

  it('checks at most once per interval, however many transactions commit', async () => {
    let checks = 0;
    const session = poolSession(db.dataSource);
    const keeper = new TableMaintenance((fn) => {
      checks++;
      return session(fn);
    }, 60_000);
    for (let i = 0; i < 20; i++) keeper.touch();
    await keeper.idle();
    keeper.touch();
    await keeper.idle();
    expect(checks).toBe(1);
  });
});
