// Duplicate detection beside the inbound path: a run leaves nothing pending, and a customer still waiting for
// detection is held back from its destinations until it has been checked.
import { ActorType } from '../../src/audit/audit.types';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { OutboxOp, RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`duplicate detection pipeline (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0].n);

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 400,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_BACKGROUND_JOBS: 'off' },
    });
    for (const sb of [env.salesforce, env.hubspot, env.sendgrid]) sb.webhooks.configure({ enabled: false });
    db = env.app.get(Database);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('a run ends with every changed customer checked, its candidates stored and nothing pending', async () => {
    const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(run.status).toBe(RunStatus.Succeeded);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
    // Every live customer has its block keys, so the next change is compared against all of them.
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM customer_block_keys k WHERE k.customer_id = c.id)',
      ),
    ).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM merge_candidates WHERE status = 'merged'")).toBeGreaterThan(
      0,
    );
    expect(await count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'")).toBe(0);
  });

  it('holds a customer awaiting detection back from its destinations until it is checked', async () => {
    const [c] = await db.query(
      "SELECT c.id FROM customers c JOIN destination_state d ON d.customer_id = c.id AND d.connection = 'sendgrid' WHERE c.merged_into IS NULL ORDER BY c.id LIMIT 1",
    );
    const detector = env.app.get(DuplicateDetector);
    const outbox = env.app.get(OutboxService);
    await db.transaction(async (tx) => {
      await detector.enqueue(tx, [c.id], { type: ActorType.Cli, id: 'test' });
      await tx.execute("UPDATE destination_state SET last_hash = 'stale' WHERE customer_id = ?", [c.id]);
      await outbox.enqueue(tx, 'sendgrid', 'contacts', [c.id], OutboxOp.Upsert, 'sf-contacts');
    });
    const held = await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(held.sent + held.unchanged).toBe(0);
    expect(
      await count("SELECT COUNT(*) AS n FROM outbox WHERE customer_id = ? AND status = 'pending'", [c.id]),
    ).toBe(1);

    const detected = await detector.drain();
    expect(detected.processed).toBe(1);
    const pushed = await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(pushed.sent).toBe(1);
    expect(
      await count("SELECT COUNT(*) AS n FROM outbox WHERE customer_id = ? AND status = 'pending'", [c.id]),
    ).toBe(0);
  });
});
