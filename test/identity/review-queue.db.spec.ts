import request from 'supertest';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`duplicate review queue (${target.type})`, () => {
  let env: Environment;
  const auth = () => ({ Authorization: `Bearer ${env.token}` });

  beforeAll(async () => {
    // Review mode: every candidate waits for a person, nothing merges on its own.
    env = await startEnvironment({
      contacts: 600,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_IDENTITY_MODE: 'review' },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('queues scored, explained candidates, and accept merges while reject never proposes the pair again', async () => {
    const db = env.app.get(Database);
    expect(
      Number((await db.query('SELECT COUNT(*) AS n FROM customers WHERE merged_into IS NOT NULL'))[0].n),
    ).toBe(0);
    const list = await request(env.url)
      .get('/merge-candidates')
      .query({ status: 'pending' })
      .set(auth())
      .expect(200);
    const pending = list.body.candidates ?? list.body.items ?? list.body;
    expect(pending.length).toBeGreaterThanOrEqual(2);
    const [first, second] = pending;
    expect(first.score).toBeGreaterThan(0);
    expect(JSON.stringify(first.explanation ?? first)).toMatch(/firstName|lastName|email|phone|company/);

    await request(env.url).post(`/merge-candidates/${first.id}/accept`).set(auth()).expect(200);
    const merged = await db.query('SELECT id, merged_into FROM customers WHERE merged_into IS NOT NULL');
    expect(merged).toHaveLength(1);
    expect([first.customerA ?? first.customer_a, first.customerB ?? first.customer_b]).toContain(
      merged[0].id,
    );
    // Both had been pushed to SendGrid by the run; after the merge the vendor keeps the survivor only.
    const loser = merged[0].id as string;
    const survivor = merged[0].merged_into as string;
    const sgIds = () => new Set((env.sendgrid.state().records as { id: string }[]).map((c) => c.id));
    const [loserAtSg] = await db.query(
      "SELECT external_id FROM destination_state WHERE connection = 'sendgrid' AND customer_id = ?",
      [loser],
    );
    expect(loserAtSg).toBeDefined();
    expect(sgIds().has(loserAtSg.external_id)).toBe(true);
    await env.app.get(OutboxService).drain('sendgrid', 'contacts', { waitForLock: true });
    expect(sgIds().has(loserAtSg.external_id)).toBe(false);
    const left = await db.query(
      "SELECT customer_id FROM destination_state WHERE connection = 'sendgrid' AND customer_id IN (?, ?)",
      [loser, survivor],
    );
    expect(left.map((r) => r.customer_id)).toEqual([survivor]);
    const audit = await request(env.url)
      .get('/audit')
      .query({ entity: 'customer', entityId: merged[0].merged_into, limit: 100 })
      .set(auth())
      .expect(200);
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'customer.merged')).toBe(true);

    await request(env.url).post(`/merge-candidates/${second.id}/reject`).set(auth()).expect(200);
    const after = await request(env.url).get(`/merge-candidates/${second.id}`).set(auth()).expect(200);
    expect(after.body.status).toBe('rejected');
    // Accepting a decided candidate is refused.
    const again = await request(env.url).post(`/merge-candidates/${second.id}/accept`).set(auth());
    expect(again.status).toBeGreaterThanOrEqual(400);
  });
});
