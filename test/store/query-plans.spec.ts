// The scheduler's sweep asks every two seconds which destinations have due outbox rows, and progress views count
// pending rows. The outbox keeps a row per customer and destination, so a query that scans it blocks the event
// loop for longer as the base grows. SQLite's own planner answers which index each of those queries uses.
import { BetterSqlite3QueryRunner } from 'typeorm/driver/better-sqlite3/BetterSqlite3QueryRunner';
import { startEnvironment } from '../../scripts/lib/sandbox-environment';
import { ActorType } from '../../src/audit/audit.types';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
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

/**
 * Tables with a row per customer (or more), which grow with the base. A statement that scans one, or reads every
 * row of one object at a vendor (only `connection=? AND object=?` of an index), costs more per call as the base
 * grows: two such lookups in the push path took ~35 ms per call at 40,000 customers, ~0.3 s of a 1,000-change
 * incremental sync, before they were rewritten.
 */
const GROWING = new Set([
  'customers',
  'customer_identities',
  'customer_versions',
  'customer_block_keys',
  'destination_state',
  'outbox',
  'audit_entries',
  'record_outcomes',
  'identity_pending',
  'consent_records',
  'merge_candidates',
  'webhook_inbox',
]);
/** A plan step names a table by its alias when the statement gives one ("FROM outbox o"). */
const STEP = /\b(SCAN|SEARCH) (\w+)\b(.*)/;
function aliases(sql: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of sql.matchAll(/\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?/gi))
    if (m[2] && !/^(WHERE|ON|JOIN|LEFT|INNER|ORDER|GROUP|LIMIT|UNION|SET)$/i.test(m[2])) out.set(m[2], m[1]);
  return out;
}
/** Reads that walk an index on purpose and stop early. */
const ALLOWED: { plan: RegExp; why: string }[] = [
  { plan: /USING (COVERING )?INDEX ix_outbox_pending\b/, why: 'partial index: pending rows only' },
  {
    plan: /USING (COVERING )?INDEX ix_outbox_pending_id\b/,
    why: 'partial index: pending rows only, in id order, read up to LIMIT',
  },
  { plan: /SCAN identity_pending USING (COVERING )?INDEX/, why: 'queue order, read up to LIMIT' },
];

describe('statements of a sync, its pushes and detection find rows by index (SQLite planner)', () => {
  it('none scans a table that grows with the base', async () => {
    const issued = new Map<string, unknown[]>();
    const original = BetterSqlite3QueryRunner.prototype.query;
    const spy = jest.spyOn(BetterSqlite3QueryRunner.prototype, 'query').mockImplementation(function (
      this: BetterSqlite3QueryRunner,
      ...args: Parameters<typeof original>
    ) {
      const [sql, params] = args;
      if (/^\s*(SELECT|UPDATE|DELETE)\b/i.test(sql) && !issued.has(sql))
        issued.set(sql, Array.isArray(params) ? params : []);
      return original.apply(this, args);
    });
    const env = await startEnvironment({
      // Enough for the seeded duplicates to be merged automatically (merges read destination state by customer).
      contacts: 400,
      env: { DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' },
    });
    try {
      await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
      // What a webhook batch asks of detection, and what a run spread over a cluster waits on.
      const detector = env.app.get(DuplicateDetector);
      const actor = { type: ActorType.Webhook, id: 'salesforce:1' };
      await detector.detectFor(actor);
      await detector.waitFor(actor, () => detector.drain());
      spy.mockRestore();
      expect(issued.size).toBeGreaterThan(30);

      const db = env.app.get(Database);
      const offending: string[] = [];
      for (const [sql, params] of issued) {
        const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map(
          (r) => r.detail,
        );
        const alias = aliases(sql);
        for (const step of plan) {
          const m = STEP.exec(step);
          if (!m) continue;
          const table = alias.get(m[2]) ?? m[2];
          if (!GROWING.has(table)) continue;
          const scansAll =
            m[1] === 'SCAN' || /^ USING (COVERING )?INDEX \S+ \(connection=\? AND object=\?\)$/.test(m[3]);
          const named = `${m[1]} ${table}${m[3]}`;
          if (scansAll && !ALLOWED.some((a) => a.plan.test(named))) offending.push(`${step}  <=  ${sql}`);
        }
      }
      expect(offending).toEqual([]);
      // A drain's selection walks pending rows in id order and stops at its limit: no sort of every due row.
      const selection = [...issued].find(([sql]) => /FROM outbox WHERE .* ORDER BY id LIMIT/.test(sql));
      expect(selection).toBeDefined();
      const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${selection![0]}`, selection![1]))
        .map((r) => r.detail)
        .join(' | ');
      expect(plan).toContain('ix_outbox_pending_id');
      expect(plan).not.toContain('TEMP B-TREE');
    } finally {
      spy.mockRestore();
      await env.close();
    }
  });
});
