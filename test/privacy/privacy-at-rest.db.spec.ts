// Personal data and connection secrets are never stored in plain text, on SQLite and PostgreSQL, while the
// service reads them back decrypted and the audit chain still verifies.
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { ActorType } from '../../src/audit/audit.types';
import { AuditService } from '../../src/audit/audit.service';
import { CustomerWriter } from '../../src/canonical/customer-writer.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';
import { storeText } from './store-text';

const target = testDatabaseTarget();

describe(`personal data at rest (${target.type})`, () => {
  let env: Environment;
  let db: Database;

  beforeAll(async () => {
    env = await startEnvironment({ contacts: 200, env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent' } });
    db = env.app.get(Database);
    const run = await env.app
      .get(SyncRunner)
      .run('sf-contacts', { trigger: RunTrigger.Manual, actor: { type: ActorType.Cli, id: 'test' } });
    expect(run.status).toBe(RunStatus.Succeeded);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('stores no seeded email or phone in plain text anywhere', async () => {
    const seeded = env.salesforce.state().records as Record<string, unknown>[];
    const needles = new Set<string>();
    for (const r of seeded)
      for (const k of ['Email', 'Phone', 'MobilePhone'])
        if (typeof r[k] === 'string' && (r[k] as string).length > 4)
          needles.add((r[k] as string).toLowerCase());
    // The canonical (normalized) forms too: what the store would hold if it held them in the clear.
    const customers = await env.app.get(CustomerRepository).loadMany(
      db,
      (await db.query('SELECT id FROM customers')).map((r) => r.id),
    );
    for (const c of customers.values())
      for (const k of ['email', 'phone'])
        if (typeof c.fields[k] === 'string') needles.add((c.fields[k] as string).toLowerCase());
    expect(customers.size).toBeGreaterThan(100);
    expect(needles.size).toBeGreaterThan(200);
    const text = await storeText(db, target);
    // A short needle (the seed's "12345" phone) also turns up by chance inside hex digests, ids and ciphertext:
    // it counts only as a whole token. Longer ones count anywhere. A finding shows where it is.
    const at = (n: string) =>
      n.length < 8
        ? text.search(
            new RegExp(`(?<![0-9A-Za-z])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9A-Za-z])`),
          )
        : text.indexOf(n);
    const found = [...needles].flatMap((n) => {
      const i = at(n);
      return i < 0 ? [] : [{ needle: n, context: text.slice(Math.max(0, i - 60), i + n.length + 20) }];
    });
    expect(found).toEqual([]);
  });

  it('stores no connection secret in plain text', async () => {
    const secrets = [
      env.salesforce.credentials.accessToken,
      env.salesforce.credentials.clientSecret,
      env.salesforce.credentials.refreshToken,
      env.hubspot.credentials.accessToken,
      env.hubspot.credentials.clientSecret,
      env.sendgrid.credentials.apiKey,
    ].filter((s): s is string => typeof s === 'string' && s.length > 6);
    const text = await storeText(db, target);
    expect(secrets.filter((s) => text.includes(s.toLowerCase()))).toEqual([]);
  });

  it('reads values back decrypted, finds customers by email through the blind index, and verifies the audit chain', async () => {
    const [row] = await db.query(
      'SELECT id, email_key, fields FROM customers WHERE email_key IS NOT NULL LIMIT 1',
    );
    expect(row.fields).toContain('enc:v1:dev:');
    expect(row.email_key).toMatch(/^[0-9a-f]{32}$/);
    const c = (await env.app.get(CustomerRepository).get(row.id))!;
    expect(typeof c.fields.email).toBe('string');
    expect(env.app.get(CustomerWriter).emailKeyOf(c.fields.email)).toBe(row.email_key);
    const versions = await env.app.get(CustomerRepository).versions(row.id);
    expect(versions[0].changes.some((ch) => ch.field === 'email' && ch.after === c.fields.email)).toBe(true);
    const audit = await env.app.get(AuditService).list({ entityId: row.id });
    expect(JSON.stringify(audit.entries[0].payload)).toContain(String(c.fields.email));
    expect((await env.app.get(AuditService).verify()).ok).toBe(true);
  });
});
