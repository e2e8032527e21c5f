// Webhooks from the HubSpot sandbox, received by a plain HTTP server here and verified with an independent
// implementation of HubSpot's documented signature algorithms (v3, and the legacy v1/v2).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@hubspot/api-client';
import { type HubSpotSandbox, signV3, signedWebhookHeaders } from './index';
import { admin, sandboxWithClient } from './sandbox-test-helpers';

interface Received {
  method: string;
  uri: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** HubSpot's v3 check, written from the docs: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), 5-minute window. */
function verifyV3(secret: string, r: Received, now = Date.now()): boolean {
  const ts = String(r.headers['x-hubspot-request-timestamp'] ?? '');
  const sig = String(r.headers['x-hubspot-signature-v3'] ?? '');
  if (!ts || !sig || Math.abs(now - Number(ts)) > 300_000) return false;
  const expected = Buffer.from(
    createHmac('sha256', secret)
      .update(r.method + r.uri + r.body + ts)
      .digest('base64'),
  );
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function verifyLegacy(secret: string, r: Received): boolean {
  const version = r.headers['x-hubspot-signature-version'];
  const source =
    version === 'v1' ? secret + r.body : version === 'v2' ? secret + r.method + r.uri + r.body : undefined;
  return (
    source !== undefined &&
    createHash('sha256').update(source).digest('hex') === r.headers['x-hubspot-signature']
  );
}

async function receiver(
  statusFor: (n: number) => number,
): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { port } = server.address() as AddressInfo;
      got.push({
        method: req.method ?? '',
        uri: `http://127.0.0.1:${port}${req.url}`,
        headers: req.headers,
        body,
      });
      res.statusCode = statusFor(got.length);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/hubspot?portal=1`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())).then(() => server.closeAllConnections()),
  };
}

describe('HubSpot sandbox: webhooks', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;
  let hook: Awaited<ReturnType<typeof receiver>>;

  afterEach(async () => {
    await sandbox.close();
    await hook.close();
  });

  it('sends creation, propertyChange and deletion events in one signed batch per API call', async () => {
    hook = await receiver(() => 204);
    ({ sandbox, client } = await sandboxWithClient({ count: 0, webhookUrl: hook.url }));
    const secret = sandbox.credentials.clientSecret;
    const created = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'w1@example.com', firstname: 'W' }, associations: [] },
        { properties: { email: 'w2@example.com' }, associations: [] },
      ],
    });
    await admin(sandbox, 'POST', '/webhooks/flush');
    expect(hook.got).toHaveLength(1);
    const first = hook.got[0];
    expect(verifyV3(secret, first)).toBe(true);
    expect(verifyLegacy(secret, first)).toBe(true);
    const events = JSON.parse(first.body);
    expect(Array.isArray(events)).toBe(true);
    const creations = events.filter((e: any) => e.subscriptionType === 'contact.creation');
    expect(creations.map((e: any) => String(e.objectId)).sort()).toEqual(
      created.results.map((r) => r.id).sort(),
    );
    const change = events.find(
      (e: any) => e.subscriptionType === 'contact.propertyChange' && e.propertyName === 'firstname',
    );
    expect(change).toMatchObject({
      propertyValue: 'W',
      attemptNumber: 0,
      changeSource: 'API',
      portalId: Number(sandbox.credentials.portalId),
      appId: Number(sandbox.credentials.appId),
    });
    for (const e of events) {
      expect(typeof e.eventId).toBe('number');
      expect(typeof e.subscriptionId).toBe('number');
      expect(typeof e.occurredAt).toBe('number');
      expect(Math.abs(e.occurredAt - Date.now())).toBeLessThan(60_000);
    }
    expect(new Set(events.map((e: any) => e.eventId)).size).toBe(events.length);

    await client.crm.contacts.basicApi.archive(created.results[0].id);
    await admin(sandbox, 'POST', `/records/${created.results[1].id}/mutate`, {
      fields: { lastname: 'Edited' },
    });
    await admin(sandbox, 'POST', '/webhooks/flush');
    const later = hook.got.slice(1).flatMap((r) => {
      expect(verifyV3(secret, r)).toBe(true);
      return JSON.parse(r.body);
    });
    expect(later).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          subscriptionType: 'contact.deletion',
          objectId: Number(created.results[0].id),
        }),
        expect.objectContaining({
          subscriptionType: 'contact.propertyChange',
          propertyName: 'lastname',
          propertyValue: 'Edited',
          changeSource: 'CRM_UI',
        }),
      ]),
    );
  });

  it('retries a failing receiver with attemptNumber incremented and a fresh valid signature each time', async () => {
    hook = await receiver((n) => (n <= 2 ? 500 : 200));
    ({ sandbox, client } = await sandboxWithClient({
      count: 0,
      webhookUrl: hook.url,
      retryDelaysMs: [20, 20, 20],
    }));
    await client.crm.contacts.basicApi.create({
      properties: { email: 'retry@example.com' },
      associations: [],
    });
    await admin(sandbox, 'POST', '/webhooks/flush');
    expect(hook.got).toHaveLength(3);
    const attempts = hook.got.map((r) => JSON.parse(r.body).map((e: any) => e.attemptNumber));
    expect(attempts.map((a) => a[0])).toEqual([0, 1, 2]);
    const ids = hook.got.map((r) =>
      JSON.parse(r.body)
        .map((e: any) => e.eventId)
        .join(),
    );
    expect(new Set(ids).size).toBe(1); // same events, retried
    for (const r of hook.got) expect(verifyV3(sandbox.credentials.clientSecret, r)).toBe(true);
    const log = (await admin(sandbox, 'GET', '/webhooks')).log;
    expect(log.map((l: any) => l.status)).toEqual([500, 500, 200]);
  });

  it('does not retry 4xx answers HubSpot treats as final, and gives up after the schedule', async () => {
    hook = await receiver(() => 404);
    ({ sandbox, client } = await sandboxWithClient({
      count: 0,
      webhookUrl: hook.url,
      retryDelaysMs: [10, 10],
    }));
    await client.crm.contacts.basicApi.create({
      properties: { email: 'gone@example.com' },
      associations: [],
    });
    await admin(sandbox, 'POST', '/webhooks/flush');
    expect(hook.got).toHaveLength(1);
    await hook.close();

    hook = await receiver(() => 503);
    await admin(sandbox, 'PUT', '/webhooks', { url: hook.url });
    await client.crm.contacts.basicApi.create({
      properties: { email: 'down@example.com' },
      associations: [],
    });
    await admin(sandbox, 'POST', '/webhooks/flush');
    expect(hook.got.map((r) => JSON.parse(r.body)[0].attemptNumber)).toEqual([0, 1, 2]);
  });

  it('signs with v2 for apps configured that way', async () => {
    hook = await receiver(() => 200);
    ({ sandbox, client } = await sandboxWithClient({
      count: 0,
      webhookUrl: hook.url,
      legacySignature: 'v2',
    }));
    await client.crm.contacts.basicApi.create({ properties: { email: 'v2@example.com' }, associations: [] });
    await admin(sandbox, 'POST', '/webhooks/flush');
    expect(hook.got[0].headers['x-hubspot-signature-version']).toBe('v2');
    expect(verifyLegacy(sandbox.credentials.clientSecret, hook.got[0])).toBe(true);
    expect(verifyV3(sandbox.credentials.clientSecret, hook.got[0])).toBe(true);
  });

  it('builds forged, stale and tampered deliveries that an independent verifier rejects', async () => {
    hook = await receiver(() => 200);
    ({ sandbox, client } = await sandboxWithClient({ count: 0 }));
    const secret = sandbox.credentials.clientSecret;
    const body = JSON.stringify([
      { eventId: 1, subscriptionType: 'contact.creation', objectId: 5, attemptNumber: 0 },
    ]);
    const asReceived = (headers: Record<string, string>, b = body): Received => ({
      method: 'POST',
      uri: hook.url,
      body: b,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    });
    const good = signedWebhookHeaders({ clientSecret: secret, url: hook.url, body });
    expect(verifyV3(secret, asReceived(good))).toBe(true);
    expect(
      verifyV3(secret, asReceived(signedWebhookHeaders({ clientSecret: 'wrong', url: hook.url, body }))),
    ).toBe(false);
    expect(
      verifyV3(
        secret,
        asReceived(
          signedWebhookHeaders({
            clientSecret: secret,
            url: hook.url,
            body,
            timestamp: Date.now() - 600_000,
          }),
        ),
      ),
    ).toBe(false);
    expect(verifyV3(secret, asReceived(good, body.replace('"objectId":5', '"objectId":6')))).toBe(false);
    // The exported signer agrees with the independent formula.
    const ts = 1700000000000;
    expect(signV3(secret, 'POST', hook.url, body, ts)).toBe(
      createHmac('sha256', secret).update(`POST${hook.url}${body}${ts}`).digest('base64'),
    );
  });
});
