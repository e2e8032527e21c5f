import { ActorType } from '../../src/audit/audit.types';
import { AuditService } from '../../src/audit/audit.service';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { allCustomers } from '../support/customers';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`Salesforce -> SendGrid + HubSpot sync (${target.type})`, () => {
  let env: Environment;
  let runner: SyncRunner;
  let db: Database;

  beforeAll(async () => {
    env = await startEnvironment({ contacts: 300, env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent' } });
    runner = env.app.get(SyncRunner);
    db = env.app.get(Database);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0].n);

  it('runs a full sync that ends with the destinations equal to the source under the mappings', async () => {
    const run = await runner.run('sf-contacts', {
      trigger: RunTrigger.Manual,
      actor: { type: ActorType.Cli, id: 'test' },
    });
    expect(run.status).toBe(RunStatus.Succeeded);
    expect(run.errors).toEqual([]);
    const live = (
      env.salesforce.state().records as { attributes?: { type: string }; IsDeleted?: boolean }[]
    ).filter((r) => r.attributes?.type === 'Contact' && !r.IsDeleted).length;
    expect(run.counts.read).toBe(live);
    expect(run.counts.created + run.counts.updated + run.counts.quarantined + run.counts.unchanged).toBe(
      run.counts.read,
    );
    expect(run.counts.quarantined).toBeGreaterThan(0);
    expect(await count("SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'")).toBe(
      run.counts.quarantined,
    );

    const customers = await allCustomers(env.app);
    const subscribed = customers.map((c) => c.fields).filter((f) => f.emailConsent === 'subscribed');
    const sgEmails = new Set((env.sendgrid.state().records as { email: string }[]).map((c) => c.email));
    expect([...sgEmails].sort()).toEqual(subscribed.map((f) => f.email).sort());
    // The CRM destination is not consent-gated: every synced customer is there, with the mapped fields.
    const hs = new Map(env.hubspot.store.all().map((c) => [c.props.email, c.props]));
    const all = customers.map((c) => c.fields);
    expect(hs.size).toBe(all.length);
    for (const f of all) {
      expect(hs.get(String(f.email))).toMatchObject({
        email: f.email,
        ...(f.firstName ? { firstname: f.firstName } : {}),
        ...(f.lastName ? { lastname: f.lastName } : {}),
      });
    }
    expect(await count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'")).toBe(0);
    // After the run, a sample of what it pushed was read back from both destinations: no drift.
    expect(run.reconciliation).toMatchObject({ missing: 0, changed: 0, alerted: false });
    expect(run.reconciliation!.checked).toBeGreaterThan(0);
    expect((await env.app.get(AuditService).verify()).ok).toBe(true);
  });

  it('reads only the changed records incrementally and carries the changes to both destinations', async () => {
    env.salesforce.webhooks.configure({ enabled: false });
    const ids = (
      await db.query(
        "SELECT external_id FROM customer_identities WHERE connection = 'salesforce' ORDER BY external_id LIMIT 30",
      )
    ).map((r) => r.external_id as string);
    // A mass update: thirty records share one SystemModstamp, across the page boundary of the read below.
    env.salesforce.massUpdate(ids, { Title: 'Mass Updated' });
    const run = await runner.run('sf-contacts', { trigger: RunTrigger.Manual, pageSize: 7 });
    expect(run.status).toBe(RunStatus.Succeeded);
    expect(run.mode).toBe('incremental');
    expect(run.counts.read).toBe(30);
    expect(run.counts.updated).toBe(30);
    const customers = await allCustomers(env.app);
    const changed = customers.filter((c) => c.fields.jobTitle === 'Mass Updated');
    expect(changed).toHaveLength(30);
    const hs = new Map(env.hubspot.store.all().map((c) => [c.props.email, c.props.jobtitle]));
    for (const c of changed) expect(hs.get(String(c.fields.email))).toBe('Mass Updated');
  });

  it('changes nothing when the same sync runs again', async () => {
    const versionsBefore = await count('SELECT COUNT(*) AS n FROM customer_versions');
    const auditBefore = await count('SELECT COUNT(*) AS n FROM audit_entries');
    const run = await runner.run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(run.status).toBe(RunStatus.Succeeded);
    expect(run.counts.created + run.counts.updated + run.counts.sent).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM customer_versions')).toBe(versionsBefore);
    expect(await count('SELECT COUNT(*) AS n FROM audit_entries')).toBe(auditBefore);
  });
});
