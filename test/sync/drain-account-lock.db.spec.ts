// Two connections to one vendor account (here: two SendGrid connections with one API key) take turns pushing. Pushed
// at once, one person written through both (a merge's delete through one, its survivor's update through the other)
// can leave the vendor with two records of them. The drains run for real against the SendGrid sandbox; the spy only
// observes the connector's calls.
import { ActorType } from '../../src/audit/audit.types';
import { ConnectorRegistry } from '../../src/connectors/connector.registry';
import type { ConnectionContext, Connector } from '../../src/connectors/connector.types';
import { Database } from '../../src/store/database';
import { ConnectionsService } from '../../src/sync/connections.service';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { SyncScheduler } from '../../src/sync/sync-scheduler.service';
import { OutboxOp, RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`drains of connections to one vendor account take turns (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  let outbox: OutboxService;
  let sendgrid: Connector;
  let customers: string[];

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 300,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_IDENTITY_MODE: 'review' },
      defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    // No background sweep: the drains below are the only ones, so a skipped drain was skipped by the account's lock.
    env.app.get(SyncScheduler).onApplicationShutdown();
    db = env.app.get(Database);
    outbox = env.app.get(OutboxService);
    sendgrid = env.app.get(ConnectorRegistry).get('sendgrid');
    const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(run.status).toBe('succeeded');
    // A second connection to the same SendGrid account, as a team with two syncs into one ESP would have.
    const connections = env.app.get(ConnectionsService);
    const first = await connections.get('sendgrid');
    await connections.upsert(
      {
        id: 'sendgrid-b',
        connector: first.connector,
        baseUrl: first.baseUrl,
        credentials: first.credentials,
        settings: first.settings,
      },
      { type: ActorType.Api, id: 'test' },
    );
    customers = (
      await db.query<{ customer_id: string }>(
        "SELECT customer_id FROM destination_state WHERE connection = 'sendgrid' AND external_id IS NOT NULL",
      )
    ).map((r) => r.customer_id);
  }, 120_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await env?.close();
    await dropTestDatabase(target);
  });

  /** Every customer due again at both connections (the first connection's last push forgotten). */
  async function enqueueForBoth(): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.execute(
        "UPDATE destination_state SET last_hash = 'stale' WHERE connection IN ('sendgrid', 'sendgrid-b')",
      );
      await outbox.enqueue(tx, 'sendgrid', 'contacts', customers, OutboxOp.Upsert, 'sf-contacts');
      await outbox.enqueue(tx, 'sendgrid-b', 'contacts', customers, OutboxOp.Upsert, 'sf-contacts');
    });
  }

  /** Observes writes per connection: whether both ever had one in flight at the same moment. */
  function observeWrites() {
    const inFlight = new Map<string, number>();
    const seen = { overlap: false, writes: new Map<string, number>() };
    const write = sendgrid.write.bind(sendgrid);
    jest.spyOn(sendgrid, 'write').mockImplementation(async (ctx, object, items) => {
      inFlight.set(ctx.id, (inFlight.get(ctx.id) ?? 0) + 1);
      seen.writes.set(ctx.id, (seen.writes.get(ctx.id) ?? 0) + 1);
      if ([...inFlight.values()].filter((n) => n > 0).length > 1) seen.overlap = true;
      try {
        return await write(ctx, object, items);
      } finally {
        inFlight.set(ctx.id, inFlight.get(ctx.id)! - 1);
      }
    });
    return seen;
  }

  it('names the account by its API key, not by the connection', async () => {
    const connections = env.app.get(ConnectionsService);
    const a = await connections.context('sendgrid');
    const b = await connections.context('sendgrid-b');
    expect(sendgrid.accountKey!(a)).toBe(sendgrid.accountKey!(b));
    const other: ConnectionContext = {
      ...a,
      credentials: { ...a.credentials, apiKey: 'SG.another-account' },
    };
    expect(sendgrid.accountKey!(other)).not.toBe(sendgrid.accountKey!(a));
    // The key never carries the secret.
    expect(sendgrid.accountKey!(a)).not.toContain(a.credentials.apiKey);
  });

  it('pushes through one connection at a time, and both get everything, with no second SendGrid contact', async () => {
    const contactsBefore = env.sendgrid.state().records.length;
    expect(customers.length).toBeGreaterThan(100);
    await enqueueForBoth();
    const seen = observeWrites();
    env.sendgrid.setJobDelay(150); // each import job takes a while, so overlapping drains would overlap here
    try {
      const [a, b] = await Promise.all([
        outbox.drain('sendgrid', 'contacts', { waitForLock: true }),
        outbox.drain('sendgrid-b', 'contacts', { waitForLock: true }),
      ]);
      expect(a.sent + b.sent).toBe(2 * customers.length);
    } finally {
      jest.restoreAllMocks();
      env.sendgrid.setJobDelay(20);
    }
    expect(seen.writes.get('sendgrid')).toBeGreaterThan(0);
    expect(seen.writes.get('sendgrid-b')).toBeGreaterThan(0);
    expect(seen.overlap).toBe(false);
    expect(await db.query("SELECT id FROM outbox WHERE status IN ('pending', 'dead')")).toEqual([]);
    // Both connections hold the same SendGrid contact for each customer.
    const held = await db.query<{ customer_id: string; connection: string; external_id: string }>(
      "SELECT customer_id, connection, external_id FROM destination_state WHERE connection IN ('sendgrid', 'sendgrid-b')",
    );
    const byCustomer = new Map<string, Set<string>>();
    for (const h of held)
      (byCustomer.get(h.customer_id) ?? byCustomer.set(h.customer_id, new Set()).get(h.customer_id)!).add(
        h.external_id,
      );
    expect([...byCustomer.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(env.sendgrid.state().records.length).toBe(contactsBefore);
  });

  it("leaves a connection's rows due, not lost, when a drain finds its account busy", async () => {
    await enqueueForBoth();
    env.sendgrid.setJobDelay(150);
    try {
      const first = outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      // Let the first drainer take the account's lock and start its batch.
      await new Promise((r) => setTimeout(r, 100));
      const skipped = await outbox.drain('sendgrid-b', 'contacts');
      expect(skipped.sent).toBe(0);
      expect((await first).sent).toBe(customers.length);
      // The busy connection's rows were left for the next drain (the sweep queues one every two seconds).
      expect(
        Number(
          (
            await db.query(
              "SELECT COUNT(*) AS n FROM outbox WHERE connection = 'sendgrid-b' AND status = 'pending'",
            )
          )[0].n,
        ),
      ).toBe(customers.length);
      const later = await outbox.drain('sendgrid-b', 'contacts', { waitForLock: true });
      const sentB = Number(
        (
          await db.query(
            "SELECT COUNT(*) AS n FROM outbox WHERE connection = 'sendgrid-b' AND status = 'sent'",
          )
        )[0].n,
      );
      expect(sentB).toBe(customers.length);
      expect(later.sent).toBe(customers.length);
    } finally {
      env.sendgrid.setJobDelay(20);
    }
    expect(await db.query("SELECT id FROM outbox WHERE status IN ('pending', 'dead')")).toEqual([]);
  });
});
