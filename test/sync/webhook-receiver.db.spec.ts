// The webhook intake answers POST /webhooks/:connectionId on the bare HTTP server, ahead of Express: it must read
// bodies as Express's parsers did (content types, compressed bodies, the size limit) and refuse bad requests with
// the same clear errors, while every other route still reaches Express.
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { signV3 } from '../../connectors/hubspot/sandbox/webhook-signing';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { Database } from '../../src/store/database';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`webhook intake (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  let eventId = Date.now();

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 5,
      env: {
        ...testDatabaseEnv(target),
        LOG_LEVEL: 'silent',
        BODY_LIMIT: '64kb',
        SYNCLINE_BACKGROUND_JOBS: 'off',
      },
    });
    db = env.app.get(Database);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  /** A signed HubSpot delivery of one property change (signature over the exact body and URL). */
  function delivery(extra: Record<string, unknown> = {}) {
    const body = JSON.stringify([
      {
        eventId: ++eventId,
        subscriptionId: 1,
        portalId: 1,
        appId: 1,
        occurredAt: Date.now(),
        subscriptionType: 'contact.propertyChange',
        attemptNumber: 0,
        objectId: 101,
        propertyName: 'firstname',
        propertyValue: 'Ada',
        ...extra,
      },
    ]);
    const ts = Date.now();
    const url = `${env.url}/webhooks/hubspot`;
    return {
      body,
      id: String(eventId),
      headers: {
        'x-hubspot-signature-v3': signV3(env.hubspot.credentials.clientSecret, 'POST', url, body, ts),
        'x-hubspot-request-timestamp': String(ts),
      },
    };
  }
  const stored = async (id: string) =>
    (await db.query("SELECT event_id FROM webhook_inbox WHERE connection = 'hubspot' AND event_id = ?", [id]))
      .length;

  it('accepts a signed delivery, stores it once, and acknowledges a redelivery', async () => {
    const d = delivery();
    for (let i = 0; i < 2; i++)
      await request(env.url)
        .post('/webhooks/hubspot')
        .set(d.headers)
        .set('content-type', 'application/json')
        .send(d.body)
        .expect(200);
    expect(await stored(d.id)).toBe(1);
  });

  it('reads a gzip-compressed body, verifying the signature over the inflated bytes', async () => {
    const d = delivery();
    // fetch, not supertest: superagent would serialize a Buffer body sent as application/json.
    const res = await fetch(`${env.url}/webhooks/hubspot`, {
      method: 'POST',
      headers: { ...d.headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.from(d.body)),
    });
    expect([res.status, await res.json()]).toEqual([200, { ok: true }]);
    expect(await stored(d.id)).toBe(1);
  });

  it('refuses forged, unsupported, oversize and misaddressed deliveries with a clear error', async () => {
    const d = delivery();
    const post = (path = '/webhooks/hubspot') => request(env.url).post(path).set(d.headers);

    const forged = await post().set('content-type', 'application/json').send(d.body.replace('Ada', 'Eve'));
    expect(forged.status).toBe(401);
    expect(forged.body.message).toMatch(/webhook rejected \(forged\)/);

    const wrongType = await post().set('content-type', 'application/octet-stream').send(d.body);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.message).toMatch(/content-type is not supported/);

    const oversize = await post()
      .set('content-type', 'application/json')
      .send(JSON.stringify([{ pad: 'x'.repeat(70 * 1024) }]));
    expect(oversize.status).toBe(413);

    const encoding = await post()
      .set('content-type', 'application/json')
      .set('content-encoding', 'zstd')
      .send('[]');
    expect(encoding.status).toBe(415);
    expect(encoding.body.message).toMatch(/zstd/);

    const badId = await post('/webhooks/Not%20An%20Id').set('content-type', 'application/json').send(d.body);
    expect(badId.status).toBe(400);
    expect(badId.body.message).toMatch(/connection id/);

    const unknown = await post('/webhooks/nope').set('content-type', 'application/json').send(d.body);
    expect(unknown.status).toBe(404);

    expect(await stored(d.id)).toBe(0);
  });

  it('leaves every other route to the application', async () => {
    await request(env.url).get('/health').expect(200);
    await request(env.url).post('/webhooks/hubspot/extra').send('{}').expect(404);
    await request(env.url).get('/webhooks/hubspot').expect(404);
  });
});
