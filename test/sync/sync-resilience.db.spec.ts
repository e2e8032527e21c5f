import { ConnectorErrorCode } from '../../src/connectors/connector-error';
import { AuditService } from '../../src/audit/audit.service';
import { JobQueue } from '../../src/queue/job-queue';
import { Database, type Tx } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { ReconciliationService } from '../../src/sync/reconciliation.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { allCustomers } from '../support/customers';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const FAST_RETRIES = {
  OUTBOX_BASE_DELAY_MS: '20',
  OUTBOX_MAX_DELAY_MS: '100',
  OUTBOX_MAX_ATTEMPTS: '3',
  LOG_LEVEL: 'silent',
};

async function within(env: Environment, fn: () => Promise<void>): Promise<void> {
  await fn();
  await env.app.get(JobQueue).idle(30000);
}

function liveContacts(env: Environment): Set<string> {
  return new Set(
    (env.salesforce.state().records as { Id: string; attributes?: { type: string }; IsDeleted?: boolean }[])
      .filter((r) => r.attributes?.type === 'Contact' && !r.IsDeleted)
      .map((r) => r.Id),
  );
}

describe('sync resilience', () => {
  describe('crash injected after every write step of a page', () => {
    const target = testDatabaseTarget();
    let env: Environment;
    let db: Database;
    beforeAll(async () => {
      // No background jobs and no vendor webhooks: an injected crash must land in the run under test, not in a
      // sweep or a webhook delivery beside it (pushes start while the read is still going).
      env = await startEnvironment({
        contacts: 160,
        env: { ...testDatabaseEnv(target), ...FAST_RETRIES, SYNCLINE_BACKGROUND_JOBS: 'off' },
      });
      for (const sb of [env.salesforce, env.hubspot, env.sendgrid]) sb.webhooks.configure({ enabled: false });
      db = env.app.get(Database);
    });
    afterAll(async () => {
      await env?.close();
      await dropTestDatabase(target);
    });

    it('resumes from the last committed page with nothing lost and nothing applied twice', async () => {
      const runner = env.app.get(SyncRunner);
      const original = db.transaction.bind(db);
      let crashAt = 0;
      let statements = 0;
      // Each attempt crashes a few statements later than the previous one, walking through every step of a page
      // (quarantine, customers, identities, versions, audit, outbox, outcomes, cursor) and of the outbox settle.
      db.transaction = (<T>(fn: (tx: Tx) => Promise<T>, retries?: number) =>
        original(async (tx) => {
          const crashing = new Proxy(tx, {
            get(t, prop) {
              const v = (t as unknown as Record<string | symbol, unknown>)[prop];
              if ((prop === 'execute' || prop === 'insertMany') && typeof v === 'function') {
                return async (...args: unknown[]) => {
                  // Lease bookkeeping is not a data step; a lost lease only delays the next run until it expires.
                  const bookkeeping = typeof args[0] === 'string' && args[0].includes('sync_leases');
                  if (!bookkeeping) statements++;
                  if (!bookkeeping && statements === crashAt)
                    throw new Error(`injected crash at statement ${crashAt}`);
                  return (v as (...a: unknown[]) => unknown).apply(t, args);
                };
              }
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
            },
          });
          return fn(crashing);
        }, retries)) as Database['transaction'];
      let failures = 0;
      // Every other statement: a page is only a dozen or so multi-row statements, so a wider step skips whole steps.
      for (crashAt = 3; crashAt < 400; crashAt += 2) {
        statements = 0;
        const run = await runner
          .run('sf-contacts', { trigger: RunTrigger.Manual, pageSize: 50 })
          .catch((e: Error) => ({ status: RunStatus.Failed, errors: [e.message] }));
        if (run.status === RunStatus.Failed) failures++;
        else if (statements < crashAt) break; // a whole run completed before the crash point: every step was covered
      }
      db.transaction = original;
      expect(failures).toBeGreaterThan(5);
      const final = await runner.run('sf-contacts', { trigger: RunTrigger.Manual });
      expect(final.status).toBe(RunStatus.Succeeded);
      await env.app.get(JobQueue).idle(30000);

      const identities = await db.query(
        "SELECT external_id, customer_id FROM customer_identities WHERE connection = 'salesforce'",
      );
      const quarantined = await db.query("SELECT external_id FROM quarantine WHERE status = 'open'");
      const seen = new Set([
        ...identities.map((r) => r.external_id),
        ...quarantined.map((r) => r.external_id),
      ]);
      expect(seen).toEqual(liveContacts(env));
      // Nothing applied twice: the store ends exactly as a run without crashes leaves it (customer ids are stable).
      const reference = await startEnvironment({
        contacts: 160,
        env: { DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' },
      });
      try {
        await reference.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual, pageSize: 50 });
        // Customers are compared by the source records they hold, not by id: a customer's id names the first of its
        // records the engine saw, and a run resumed after a crash may read a person's records in another order
        // (the resumed read starts from the cursor), so the same person can be named after another of its records.
        const shape = async (e: Environment) => {
          const d = e.app.get(Database);
          const versions = new Map(
            (
              await d.query('SELECT customer_id, COUNT(*) AS n FROM customer_versions GROUP BY customer_id')
            ).map((r) => [r.customer_id, Number(r.n)]),
          );
          const records = new Map<string, string[]>();
          for (const r of await d.query(
            "SELECT customer_id, external_id FROM customer_identities WHERE connection = 'salesforce' ORDER BY external_id",
          ))
            records.set(r.customer_id, [...(records.get(r.customer_id) ?? []), r.external_id]);
          return (await allCustomers(e.app))
            .map(({ id, ...c }) => ({
              records: (records.get(id) ?? []).join(','),
              ...c,
              versions: versions.get(id) ?? 0,
            }))
            .sort((a, b) => (a.records < b.records ? -1 : a.records > b.records ? 1 : 0));
        };
        expect(await shape(env)).toEqual(await shape(reference));
      } finally {
        await reference.close();
      }
      expect(Number((await db.query("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'"))[0].n)).toBe(
        0,
      );
      // Live contacts: the store keeps archived (deleted) ones too, as HubSpot does for 90 days.
      const hsEmails = env.hubspot.store
        .all()
        .filter((h) => !h.archivedAt)
        .map((h) => h.props.email);
      expect(new Set(hsEmails).size).toBe(hsEmails.length);
      expect(hsEmails.length).toBe(
        Number(
          (
            await db.query(
              'SELECT COUNT(DISTINCT customer_id) AS n FROM destination_state WHERE connection = ?',
              ['hubspot'],
            )
          )[0].n,
        ),
      );
      expect((await env.app.get(AuditService).verify()).ok).toBe(true);
    });
  });

  describe('vendor outage and 429 storm', () => {
    const target = testDatabaseTarget();
    let env: Environment;
    beforeAll(async () => {
      env = await startEnvironment({ contacts: 150, env: { ...testDatabaseEnv(target), ...FAST_RETRIES } });
    });
    afterAll(async () => {
      await env?.close();
      await dropTestDatabase(target);
    });

    it('ends with every record delivered or dead-lettered with its reason, and replay delivers the rest', async () => {
      env.salesforce.faults.configure({ outageUntil: Date.now() + 600 });
      env.hubspot.faults.configure({ rate5xx: 0.5, seed: 7 });
      env.sendgrid.faults.configure({ rate429: 0.6, seed: 11 });
      const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
      expect(run.status).toBe(RunStatus.Succeeded);
      expect(run.errors.join('\n')).toMatch(/temporary|rate-limited/);
      const db = env.app.get(Database);
      const outbox = env.app.get(OutboxService);
      // Let retries run out: drain until nothing is pending.
      for (let i = 0; i < 200 && (await outbox.pendingCount()) > 0; i++) {
        await new Promise((r) => setTimeout(r, 60));
        for (const d of ['sendgrid', 'hubspot']) await outbox.drain(d, 'contacts', { waitForLock: true });
      }
      const rows = await db.query(
        "SELECT connection, status, last_error FROM outbox WHERE connection IN ('hubspot', 'sendgrid')",
      );
      const customers = Number(
        (await db.query('SELECT COUNT(*) AS n FROM customers WHERE merged_into IS NULL'))[0].n,
      );
      expect(rows.filter((r) => r.connection === 'hubspot').length).toBeGreaterThanOrEqual(customers);
      for (const r of rows) {
        expect(['sent', 'dead', 'suppressed']).toContain(r.status);
        if (r.status === 'dead')
          expect(r.last_error).toMatch(
            new RegExp(`^(${ConnectorErrorCode.Temporary}|${ConnectorErrorCode.RateLimited}):`),
          );
      }
      const dead = rows.filter((r) => r.status === 'dead').length;
      expect(dead).toBeGreaterThan(0);

      env.hubspot.faults.reset();
      env.sendgrid.faults.reset();
      expect(await outbox.replayDeadLetters('all')).toBe(dead);
      for (const d of ['sendgrid', 'hubspot']) await outbox.drain(d, 'contacts', { waitForLock: true });
      const after = await db.query(
        "SELECT status FROM outbox WHERE connection IN ('hubspot', 'sendgrid') AND status NOT IN ('sent', 'suppressed')",
      );
      expect(after).toEqual([]);
      expect(env.hubspot.store.all().filter((h) => !h.archivedAt).length).toBe(
        rows.filter((r) => r.connection === 'hubspot').length,
      );
    });
  });

  describe('consent, two-way echo suppression and reconciliation', () => {
    const target = testDatabaseTarget();
    let env: Environment;
    let db: Database;
    beforeAll(async () => {
      env = await startEnvironment({
        contacts: 120,
        env: { ...testDatabaseEnv(target), ...FAST_RETRIES },
        defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
        syncs: [
          {
            id: 'sf-to-hs',
            source: { connection: 'salesforce', object: 'Contact' },
            destinations: [{ connection: 'hubspot', object: 'contacts' }],
            filter: { requireConsent: 'email' },
          },
          {
            id: 'hs-to-sf',
            source: { connection: 'hubspot', object: 'contacts' },
            destinations: [{ connection: 'salesforce', object: 'Contact' }],
          },
        ],
      });
      db = env.app.get(Database);
      env.salesforce.webhooks.configure({ enabled: false });
    });
    afterAll(async () => {
      await env?.close();
      await dropTestDatabase(target);
    });

    it('pushes only consented contacts where the sync requires consent, and never unsubscribed ones to the ESP', async () => {
      await within(env, async () => {
        await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
        await env.app.get(SyncRunner).run('sf-to-hs', { trigger: RunTrigger.Manual });
      });
      const fields = (await allCustomers(env.app)).map((c) => c.fields);
      const consented = new Set(fields.filter((f) => f.emailConsent === 'subscribed').map((f) => f.email));
      expect(consented.size).toBeLessThan(fields.length);
      expect(
        new Set(
          env.hubspot.store
            .all()
            .filter((h) => !h.archivedAt)
            .map((h) => h.props.email),
        ),
      ).toEqual(consented);
      expect(new Set((env.sendgrid.state().records as { email: string }[]).map((c) => c.email))).toEqual(
        consented,
      );
      const suppressed = await db.query("SELECT last_error FROM outbox WHERE status = 'suppressed'");
      expect(suppressed.length).toBeGreaterThan(0);
      expect(suppressed.every((r) => /unsubscribed|no email consent/.test(r.last_error))).toBe(true);
    });

    it('does not ping-pong between two syncs running both ways', async () => {
      // HubSpot's creation webhooks for the contacts we just pushed come back: they must create nothing.
      const versions = async () =>
        Number((await db.query('SELECT COUNT(*) AS n FROM customer_versions'))[0].n);
      const before = await versions();
      await within(env, async () => {
        await env.hubspot.webhooks.flush();
      });
      await within(env, async () => undefined);
      expect(await versions()).toBe(before);
      const echoes = await db.query(
        "SELECT COUNT(*) AS n FROM record_outcomes WHERE connection = 'hubspot' AND direction = 'in' AND action = 'echo-ignored'",
      );
      expect(Number(echoes[0].n)).toBeGreaterThan(0);
      // A change made in HubSpot flows to Salesforce once, and Salesforce's copy is not sent back.
      const [target] = env.hubspot.store.all();
      const sfPushesBefore = Number(
        (
          await db.query(
            "SELECT COUNT(*) AS n FROM record_outcomes WHERE connection = 'salesforce' AND direction = 'out'",
          )
        )[0].n,
      );
      await within(env, async () => {
        env.hubspot.mutate(String(target.id), { jobtitle: 'Chief Echo Officer' });
        // HubSpot batches events a moment after the change; let the sandbox queue them before flushing.
        await new Promise((r) => setTimeout(r, 20));
        await env.hubspot.webhooks.flush();
      });
      await within(env, async () => undefined);
      expect(await versions()).toBe(before + 1);
      const sfPushes = Number(
        (
          await db.query(
            "SELECT COUNT(*) AS n FROM record_outcomes WHERE connection = 'salesforce' AND direction = 'out'",
          )
        )[0].n,
      );
      expect(sfPushes).toBe(sfPushesBefore + 1);
      expect(
        (env.salesforce.state().records as { Title?: string }[]).some(
          (r) => r.Title === 'Chief Echo Officer',
        ),
      ).toBe(true);
    });

    it("finds a record changed behind Syncline's back and raises the alert", async () => {
      env.hubspot.webhooks.configure({ enabled: false });
      const [victim] = env.hubspot.store.all();
      env.hubspot.mutate(String(victim.id), { city: 'Atlantis' });
      await new Promise((r) => setTimeout(r, 20));
      const report = await env.app.get(ReconciliationService).reconcile('sf-to-hs');
      const hs = report.destinations.find((d) => d.connection === 'hubspot')!;
      expect(hs.changed).toBe(1);
      expect(hs.drift[0]).toMatchObject({
        externalId: String(victim.id),
        kind: 'changed',
        fields: expect.arrayContaining([
          expect.objectContaining({ path: 'properties.city', actual: 'Atlantis' }),
        ]),
      });
      expect(report.alerted).toBe(report.driftRate > 0.01);
      const sg = await env.app.get(ReconciliationService).reconcile('sf-contacts');
      expect(sg.destinations[0].changed + sg.destinations[0].missing).toBe(0);
    });
  });
});
