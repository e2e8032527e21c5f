// With duplicate detection turned off, nobody checks the detection queue: customers left in it (queued while
// detection was on) are pushed as they are, not held back for a check that never comes.
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`duplicate detection turned off (${target.type})`, () => {
  let env: Environment;
  let db: Database;

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 20,
      env: {
        ...testDatabaseEnv(target),
        LOG_LEVEL: 'silent',
        SYNCLINE_BACKGROUND_JOBS: 'off',
        SYNCLINE_IDENTITY_MODE: 'off',
      },
    });
    for (const sb of [env.salesforce, env.hubspot, env.sendgrid]) sb.webhooks.configure({ enabled: false });
    db = env.app.get(Database);
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('pushes a customer still queued for detection from when it was on', async () => {
    const [row] = await db.query<{ id: number; customer_id: string }>(
      "SELECT id, customer_id FROM outbox WHERE connection = 'sendgrid' AND status = 'sent' ORDER BY id LIMIT 1",
    );
    // Left by a process with detection on: the customer queued for it, its push due again.
    await db.transaction(async (tx) => {
      await tx.insertMany(
        'identity_pending',
        ['customer_id', 'actor_type', 'actor_id', 'queued_at'],
        [[row.customer_id, 'sync_run', 'run-before', new Date().toISOString()]],
      );
      await tx.execute("UPDATE outbox SET status = 'pending' WHERE id = ?", [row.id]);
    });
    await env.app.get(OutboxService).drain('sendgrid', 'contacts');
    const [after] = await db.query<{ status: string }>('SELECT status FROM outbox WHERE id = ?', [row.id]);
    expect(after.status).toBe('sent');
    // Still queued: should detection be turned on again, it checks the customer then.
    const [queued] = await db.query('SELECT COUNT(*) AS n FROM identity_pending WHERE customer_id = ?', [
      row.customer_id,
    ]);
    expect(Number(queued.n)).toBe(1);
  });
});
