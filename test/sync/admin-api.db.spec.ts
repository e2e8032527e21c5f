import request from 'supertest';
import { Database } from '../../src/store/database';
import { MappingAuditService } from '../../src/sync/mapping-audit.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`admin API and runs (${target.type})`, () => {
  let env: Environment;
  const auth = () => ({ Authorization: `Bearer ${env.token}` });
  const http = () => request(env.url);

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 80,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', BODY_LIMIT: '64kb' },
    });
    env.salesforce.webhooks.configure({ enabled: false });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('lists connectors with their capabilities', async () => {
    const res = await http().get('/connectors').set(auth()).expect(200);
    const ids = res.body.connectors.map((c: { id: string }) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['hubspot', 'salesforce', 'sendgrid']));
    const sf = res.body.connectors.find((c: { id: string }) => c.id === 'salesforce');
    expect(sf.capabilities).toEqual(expect.arrayContaining(['incremental-read', 'batch-write', 'webhooks']));
    expect(sf.limits.maxBatchSize).toBe(200);
  });

  it('reports a dry run without writing anything', async () => {
    const db = env.app.get(Database);
    const res = await http().post('/syncs/sf-contacts/runs').set(auth()).send({ dryRun: true }).expect(200);
    expect(res.body).toMatchObject({ dryRun: true, status: 'succeeded' });
    expect(res.body.counts.created).toBeGreaterThan(0);
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM customers'))[0].n)).toBe(0);
    expect(
      Number((await db.query("SELECT COUNT(*) AS n FROM audit_entries WHERE entity_type = 'customer'"))[0].n),
    ).toBe(0);
    expect(res.body.cursorAfter).toBeNull();
    expect(env.hubspot.store.all()).toHaveLength(0);
  });

  it('runs, lists the run with its counts and cursors, and serves per-record outcomes with versions', async () => {
    const run = await http().post('/syncs/sf-contacts/runs').set(auth()).send({ wait: true }).expect(200);
    expect(run.body.status).toBe('succeeded');
    const runs = await http().get('/syncs/sf-contacts/runs').set(auth()).expect(200);
    expect(runs.body.runs[0]).toMatchObject({ id: run.body.id, cursorBefore: null, counts: run.body.counts });
    expect(runs.body.runs[0].cursorAfter).toBeTruthy();
    const outcomes = await http()
      .get(`/runs/${run.body.id}/outcomes`)
      .query({ limit: 5 })
      .set(auth())
      .expect(200);
    expect(outcomes.body.outcomes).toHaveLength(5);
    expect(outcomes.body.outcomes[0]).toMatchObject({
      connection: 'salesforce',
      direction: 'in',
      mappingVersion: 1,
      connectorVersion: expect.any(String),
    });
    expect(outcomes.body.nextCursor).toBeTruthy();
  });

  it('never runs the same sync twice at once', async () => {
    const runner = env.app.get(SyncRunner);
    const results = await Promise.allSettled([
      runner.run('sf-contacts', { trigger: RunTrigger.Manual }),
      runner.run('sf-contacts', { trigger: RunTrigger.Manual }),
    ]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(String((rejected[0] as PromiseRejectedResult).reason.message)).toMatch(/already running/);
  });

  it('validates sync definitions naming the field, and audits every configuration change', async () => {
    const bad = await http()
      .put('/syncs/new-sync')
      .set(auth())
      .send({ source: { connection: 'salesforce' }, mode: 'sideways' })
      .expect(400);
    expect(bad.body.message).toMatch(/source\.object/);
    expect(bad.body.message).toMatch(/mode/);
    const unknown = await http()
      .put('/syncs/new-sync')
      .set(auth())
      .send({ source: { connection: 'nope', object: 'Contact' } })
      .expect(400);
    expect(unknown.body.message).toMatch(/source\.connection.*unknown connection "nope"/);
    const cron = await http()
      .put('/syncs/new-sync')
      .set(auth())
      .send({ source: { connection: 'salesforce', object: 'Lead' }, schedule: 'every day' })
      .expect(400);
    expect(cron.body.message).toMatch(/schedule/);
    await http()
      .put('/syncs/new-sync')
      .set(auth())
      .send({
        source: { connection: 'salesforce', object: 'Lead' },
        destinations: [{ connection: 'hubspot', object: 'contacts' }],
        schedule: '0 3 * * *',
      })
      .expect(200);
    await http().post('/syncs/new-sync/pause').set(auth()).expect(200);
    await http().post('/syncs/new-sync/resume').set(auth()).expect(200);
    await http().post('/syncs/sf-contacts/cursor/reset').set(auth()).expect(200);
    await http().delete('/syncs/new-sync').set(auth()).expect(204);
    const audit = await http().get('/audit').query({ entity: 'sync', limit: 50 }).set(auth()).expect(200);
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'sync.created',
        'sync.paused',
        'sync.resumed',
        'sync.cursor-reset',
        'sync.deleted',
      ]),
    );
    expect(audit.body.entries.find((e: { action: string }) => e.action === 'sync.paused').actorType).toBe(
      'api',
    );
  });

  it('records each mapping version in the audit log once', async () => {
    const audit = await http().get('/audit').query({ entity: 'mapping' }).set(auth()).expect(200);
    const ids = audit.body.entries.map((e: { entityId: string }) => e.entityId);
    expect(ids).toEqual(
      expect.arrayContaining(['salesforce/Contact', 'hubspot/contacts', 'sendgrid/contacts']),
    );
    expect(audit.body.entries[0]).toMatchObject({
      action: 'mapping.registered',
      payload: { version: expect.any(Number), hash: expect.any(String) },
    });
    expect(await env.app.get(MappingAuditService).recordChanges()).toBe(0);
  });

  it('keeps credentials out of connection listings and audits connection changes', async () => {
    const res = await http().get('/connections').set(auth()).expect(200);
    const sg = res.body.connections.find((c: { id: string }) => c.id === 'sendgrid');
    expect(JSON.stringify(sg)).not.toContain(env.sendgrid.credentials.apiKey);
    expect(sg.credentials.apiKey).toBe('(literal)');
    const bad = await http()
      .put('/connections/x1')
      .set(auth())
      .send({ connector: 'nosuchvendor' })
      .expect(400);
    expect(bad.body.message).toMatch(/connector/);
  });

  it('refuses oversize bodies with 413 and needs a token for admin endpoints', async () => {
    await http().put('/syncs/sf-contacts').send({}).expect(401);
    const big = { source: { connection: 'salesforce', object: 'Contact' }, padding: 'x'.repeat(70 * 1024) };
    await http().put('/syncs/big').set(auth()).send(big).expect(413);
  });
});
