import request from 'supertest';
import { outboundMessage } from '../../connectors/salesforce/conformance';
import { AuditService } from '../../src/audit/audit.service';
import { JobQueue } from '../../src/queue/job-queue';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { SF_WEBHOOK_SECRET, startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { customerFields } from '../support/customers';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

async function eventually(
  check: () => Promise<boolean>,
  what = 'condition',
  timeoutMs = 15000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not met in time`);
}

describe(`webhook path (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  const q = async (sql: string, params: unknown[] = []) => db.query(sql, params);

  beforeAll(async () => {
    env = await startEnvironment({ contacts: 120, env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent' } });
    db = env.app.get(Database);
    // Webhooks come after the initial load; the sandbox only sends Outbound Messages when we ask it to.
    env.salesforce.webhooks.configure({ enabled: false });
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  // Each test gets a contact no earlier test touched: an earlier test's edits (made on a sandbox clock moved
  // forward) would make this test's vendor events look older than the record and be refused as stale.
  const used = new Set<string>();
  async function syncedContact(): Promise<{ externalId: string; customerId: string; email: string }> {
    const rows = await q(
      "SELECT i.external_id, i.customer_id FROM customer_identities i WHERE i.connection = 'salesforce' ORDER BY i.external_id",
    );
    for (let i = Math.floor(Math.random() * 20); ; i++) {
      const row = rows[i % rows.length];
      if (used.has(row.customer_id)) continue;
      const fields = await customerFields(env.app, row.customer_id);
      if (fields.emailConsent === 'subscribed') {
        used.add(row.customer_id);
        return { externalId: row.external_id, customerId: row.customer_id, email: String(fields.email) };
      }
    }
  }
  const versionsOf = async (id: string) =>
    Number((await q('SELECT COUNT(*) AS n FROM customer_versions WHERE customer_id = ?', [id]))[0].n);
  const fieldsOf = (id: string) => customerFields(env.app, id);
  const post = (req: ReturnType<typeof outboundMessage>) =>
    request(env.url)
      .post(`/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`)
      .set('content-type', 'text/xml; charset=utf-8')
      .send(req.rawBody.toString('utf8'));

  it('applies a Salesforce Outbound Message once however often it is delivered (50 deliveries)', async () => {
    const c = await syncedContact();
    const before = await versionsOf(c.customerId);
    env.salesforce.mutate(c.externalId, { Title: 'Head of Redeliveries' });
    const delivery = outboundMessage(env.salesforce, [c.externalId], { token: SF_WEBHOOK_SECRET });
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(delivery)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.text).toContain('<Ack>true</Ack>');
    }
    await env.app.get(JobQueue).idle();
    await eventually(async () => (await fieldsOf(c.customerId)).jobTitle === 'Head of Redeliveries');
    expect(await versionsOf(c.customerId)).toBe(before + 1);
    expect(
      Number((await q("SELECT COUNT(*) AS n FROM webhook_inbox WHERE connection = 'salesforce'"))[0].n),
    ).toBe(1);
    // The change reached the destinations.
    await eventually(async () =>
      env.hubspot.store
        .all()
        .some((h) => h.props.email === c.email && h.props.jobtitle === 'Head of Redeliveries'),
    );
  });

  it('ends in the newest state when deliveries arrive shuffled', async () => {
    const c = await syncedContact();
    const deliveries = [];
    for (let i = 1; i <= 6; i++) {
      env.salesforce.clock.advance?.(1000);
      env.salesforce.mutate(c.externalId, { Title: `Title v${i}` });
      deliveries.push(outboundMessage(env.salesforce, [c.externalId], { token: SF_WEBHOOK_SECRET }));
    }
    const shuffled = [
      deliveries[3],
      deliveries[5],
      deliveries[0],
      deliveries[4],
      deliveries[1],
      deliveries[2],
    ];
    for (const d of shuffled) expect((await post(d)).status).toBe(200);
    await env.app.get(JobQueue).idle();
    await eventually(async () => (await fieldsOf(c.customerId)).jobTitle === 'Title v6');
    env.salesforce.clock.reset();
  });

  it('refuses a forged delivery with 401 and a malformed one with 400 naming the problem', async () => {
    const c = await syncedContact();
    const forged = outboundMessage(env.salesforce, [c.externalId], {
      token: SF_WEBHOOK_SECRET,
      organizationId: '00D000000000000AAA',
    });
    expect((await post(forged)).status).toBe(401);
    const noToken = outboundMessage(env.salesforce, [c.externalId], {});
    expect(
      (
        await request(env.url)
          .post('/webhooks/salesforce')
          .set('content-type', 'text/xml')
          .send(noToken.rawBody.toString())
      ).status,
    ).toBe(401);
    const malformed = await request(env.url)
      .post(`/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`)
      .set('content-type', 'text/xml')
      .send('<soapenv:Envelope><notifications>');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/malformed/);
    const unknown = await request(env.url)
      .post('/webhooks/nope')
      .set('content-type', 'application/json')
      .send('[]');
    expect(unknown.status).toBe(404);
  });

  it('flows a SendGrid unsubscribe back to Salesforce (HasOptedOutOfEmail) and HubSpot, and stops ESP pushes', async () => {
    const c = await syncedContact();
    env.sendgrid.sendEvents([{ event: 'unsubscribe', email: c.email }]);
    await env.sendgrid.webhooks.flush();
    await env.app.get(JobQueue).idle();
    await eventually(
      async () => (await fieldsOf(c.customerId)).emailConsent === 'unsubscribed',
      'consent applied',
    );
    await eventually(
      async () =>
        (env.salesforce.state().records as Record<string, unknown>[]).some(
          (r) => r.Id === c.externalId && r.HasOptedOutOfEmail === true,
        ),
      'Salesforce HasOptedOutOfEmail',
    );
    await eventually(
      async () =>
        env.hubspot.store.all().some((h) => h.props.email === c.email && h.props.hs_email_optout === 'true'),
      'HubSpot opt-out',
    );
    const [row] = await q("SELECT status FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?", [
      c.customerId,
    ]);
    expect(row?.status ?? 'suppressed').not.toBe('pending');
    expect((await env.app.get(AuditService).verify()).ok).toBe(true);
  });
});
