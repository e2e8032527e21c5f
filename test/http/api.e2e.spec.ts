import request from 'supertest';
import { ActorType } from '../../src/audit/audit.types';
import { CustomerWriter } from '../../src/canonical/customer-writer.service';
import { Database } from '../../src/store/database';
import { startTestApp, TEST_TOKEN, type TestApp } from '../support/test-app';

describe('HTTP API', () => {
  let t: TestApp;
  let customerId: string;
  const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

  beforeAll(async () => {
    t = await startTestApp();
    const [outcome] = await t.app.get(Database).transaction((tx) =>
      t.app.get(CustomerWriter).apply(
        tx,
        [
          {
            identity: { connection: 'sf', object: 'Contact', externalId: '003X' },
            change: {
              connection: 'sf',
              sourceTimestamp: '2026-01-01T00:00:00.000Z',
              fields: { email: 'xi@example.com', firstName: 'Xi' },
            },
          },
        ],
        { actor: { type: ActorType.Cli, id: 'test' } },
      ),
    );
    customerId = outcome.customerId;
  });
  afterAll(() => t.close());

  const http = () => request(t.app.getHttpServer());

  it('answers /health without a token, with the database and job queue checks', async () => {
    const res = await http().get('/health').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' }, queue: { status: 'up', adapter: 'in-process' } },
    });
  });

  it('serves the OpenAPI document at /docs', async () => {
    await http().get('/docs').expect(200);
    const spec = await http().get('/docs-json').expect(200);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/customers/{id}', '/audit']));
  });

  it('refuses a missing or wrong token with 401', async () => {
    await http().get(`/customers/${customerId}`).expect(401);
    await http().get(`/customers/${customerId}`).set('Authorization', 'Bearer nope').expect(401);
    await http().get('/audit').set('X-Api-Key', 'nope').expect(401);
  });

  it('reads a customer, its identities and versions', async () => {
    const res = await http().get(`/customers/${customerId}`).set(auth).expect(200);
    expect(res.body).toMatchObject({
      id: customerId,
      version: 1,
      email: 'xi@example.com',
      identities: [{ connection: 'sf', object: 'Contact', externalId: '003X' }],
      provenance: { firstName: { connection: 'sf', at: '2026-01-01T00:00:00.000Z' } },
    });
    const versions = await http().get(`/customers/${customerId}/versions`).set(auth).expect(200);
    expect(versions.body.versions).toHaveLength(1);
    const v1 = await http().get(`/customers/${customerId}/versions/1`).set(auth).expect(200);
    expect(v1.body.fields).toEqual({ email: 'xi@example.com', firstName: 'Xi' });
    await http().get(`/customers/${customerId}/versions/2`).set(auth).expect(404);
  });

  it('answers 404 for an unknown customer and 400 naming a malformed id', async () => {
    await http().get('/customers/00000000-0000-4000-8000-000000000000').set(auth).expect(404);
    const bad = await http().get('/customers/not-a-uuid').set(auth).expect(400);
    expect(bad.body.message).toMatch(/path parameter/);
  });

  it('filters and pages the audit log, naming an invalid query parameter', async () => {
    const res = await http()
      .get('/audit')
      .query({ entity: 'customer', actor: 'cli', limit: 1 })
      .set(auth)
      .expect(200);
    expect(res.body.entries).toHaveLength(1);
    expect(res.body.entries[0]).toMatchObject({
      entityId: customerId,
      action: 'customer.created',
      actorType: 'cli',
    });
    const bad = await http().get('/audit').query({ limit: 'many' }).set(auth).expect(400);
    expect(bad.body.message).toMatch(/query parameter "limit"/);
    const since = await http().get('/audit').query({ since: 'yesterday' }).set(auth).expect(400);
    expect(since.body.message).toMatch(/"since"/);
    const verify = await http().get('/audit/verify').set(auth).expect(200);
    expect(verify.body).toMatchObject({ ok: true });
  });
});
