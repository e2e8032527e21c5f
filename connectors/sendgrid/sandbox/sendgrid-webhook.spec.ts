// Event Webhook deliveries from the SendGrid sandbox, checked with an independent verifier (Node's
// crypto.verify over timestamp + raw body with the public key read from the settings endpoint), plus
// tampering, forged and stale signatures, and SendGrid-style retries on non-2xx.
import { createPublicKey, generateKeyPairSync, sign as cryptoSign, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, startSandbox, TIMESTAMP_HEADER, type SendGridSandbox } from './index';
import { SendGridSpecValidator } from './sendgrid-openapi.validator';
import { admin, call, sdkClient } from './sendgrid-test.helpers';

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
}

function verifySendGrid(publicKeyB64: string, timestamp: string, raw: string, signatureB64: string): boolean {
  const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
  return verify('sha256', Buffer.from(timestamp + raw, 'utf8'), key, Buffer.from(signatureB64, 'base64'));
}

let sb: SendGridSandbox;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
let failNext = 0;
let publicKey: string;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end('nope');
      } else res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sendgrid/events`;
  sb = await startSandbox({ count: 5, webhookUrl: receiverUrl, webhookRetryDelaysMs: [20, 40, 80] });
  // The key comes from the vendor endpoint, as a receiver would configure it.
  const client = sdkClient(sb.credentials.apiKey, sb.url);
  const r = await call(client, { method: 'GET', url: '/v3/user/webhooks/event/settings/signed' });
  new SendGridSpecValidator().assertResponse(
    'GET',
    '/v3/user/webhooks/event/settings/signed/{id}',
    200,
    r.body,
  );
  publicKey = r.body.public_key;
});
afterAll(async () => {
  await sb.close();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  received.length = 0;
  failNext = 0;
});

async function trigger(
  events: unknown[],
): Promise<{ id: string; body: string; headers: Record<string, string> }> {
  const r = await admin(sb.url, 'POST', '/sendgrid/events', { events });
  expect(r.status).toBe(200);
  await admin(sb.url, 'POST', '/webhooks/flush');
  return r.body;
}

describe('SendGrid Event Webhook', () => {
  it('posts an array of typed events, signed with ECDSA P-256 over timestamp + body', async () => {
    await trigger([
      { event: 'processed', email: 'a@example.com' },
      { event: 'delivered', email: 'a@example.com' },
      { event: 'open', email: 'a@example.com' },
      { event: 'click', email: 'a@example.com' },
      { event: 'bounce', email: 'b@example.com' },
      { event: 'dropped', email: 'b@example.com' },
      { event: 'spamreport', email: 'c@example.com' },
      { event: 'unsubscribe', email: 'c@example.com' },
      { event: 'group_unsubscribe', email: 'd@example.com', asm_group_id: 42 },
      { event: 'deferred', email: 'e@example.com' },
    ]);
    expect(received).toHaveLength(1);
    const { headers, raw } = received[0];
    expect(headers['content-type']).toMatch(/application\/json/);
    const sig = headers[SIGNATURE_HEADER.toLowerCase()] as string;
    const ts = headers[TIMESTAMP_HEADER.toLowerCase()] as string;
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(10);
    expect(verifySendGrid(publicKey, ts, raw, sig)).toBe(true);

    const events = JSON.parse(raw);
    expect(events.map((e: any) => e.event)).toEqual([
      'processed',
      'delivered',
      'open',
      'click',
      'bounce',
      'dropped',
      'spamreport',
      'unsubscribe',
      'group_unsubscribe',
      'deferred',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({
        email: expect.any(String),
        sg_event_id: expect.any(String),
        sg_message_id: expect.any(String),
      });
      expect(Number.isInteger(e.timestamp)).toBe(true);
      expect(e.timestamp).toBeLessThan(1e11); // epoch seconds, not ms
    }
    expect(new Set(events.map((e: any) => e.sg_event_id)).size).toBe(events.length);
    const bounce = events.find((e: any) => e.event === 'bounce');
    expect(bounce).toMatchObject({
      reason: expect.any(String),
      status: expect.stringMatching(/^\d\.\d\.\d$/),
      type: 'bounce',
    });
    expect(events.find((e: any) => e.event === 'group_unsubscribe').asm_group_id).toBe(42);
    expect(events.find((e: any) => e.event === 'click').url).toMatch(/^https:/);
  });

  it('detects tampering, a forged key and lets tests build stale deliveries', async () => {
    await trigger([{ event: 'unsubscribe', email: 'tamper@example.com' }]);
    const { headers, raw } = received[0];
    const sig = headers[SIGNATURE_HEADER.toLowerCase()] as string;
    const ts = headers[TIMESTAMP_HEADER.toLowerCase()] as string;
    expect(verifySendGrid(publicKey, ts, raw.replace('tamper@', 'other@'), sig)).toBe(false);
    expect(verifySendGrid(publicKey, String(Number(ts) + 1), raw, sig)).toBe(false);

    const forgedKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const forged = cryptoSign('sha256', Buffer.from(ts + raw), forgedKey).toString('base64');
    expect(verifySendGrid(publicKey, ts, raw, forged)).toBe(false);

    const stale = String(Math.floor(Date.now() / 1000) - 3600);
    const signed = await admin(sb.url, 'POST', '/sendgrid/sign', { body: raw, timestamp: stale });
    expect(signed.body.headers[TIMESTAMP_HEADER]).toBe(stale);
    expect(verifySendGrid(publicKey, stale, raw, signed.body.headers[SIGNATURE_HEADER])).toBe(true);
  });

  it('retries on non-2xx with the same events, each attempt validly signed', async () => {
    failNext = 2;
    const sent = await trigger([{ event: 'delivered', email: 'retry@example.com' }]);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.raw)).size).toBe(1);
    expect(received[0].raw).toBe(sent.body);
    for (const r of received)
      expect(
        verifySendGrid(
          publicKey,
          r.headers[TIMESTAMP_HEADER.toLowerCase()] as string,
          r.raw,
          r.headers[SIGNATURE_HEADER.toLowerCase()] as string,
        ),
      ).toBe(true);
    const log = (await admin(sb.url, 'GET', '/webhooks')).body.log.filter((a: any) => a.id === sent.id);
    expect(log.map((a: any) => a.status)).toEqual([500, 500, 200]);
  });

  it('stops after the retry schedule is exhausted', async () => {
    failNext = 10;
    const sent = await trigger([{ event: 'open', email: 'never@example.com' }]);
    expect(received).toHaveLength(4); // first attempt + 3 retries
    const log = (await admin(sb.url, 'GET', '/webhooks')).body.log.filter((a: any) => a.id === sent.id);
    expect(log.every((a: any) => a.status === 500)).toBe(true);
  });

  it('sends unsigned deliveries once signing is disabled', async () => {
    const client = sdkClient(sb.credentials.apiKey, sb.url);
    const off = await call(client, {
      method: 'PATCH',
      url: '/v3/user/webhooks/event/settings/signed',
      body: { enabled: false },
    });
    expect(off.status).toBe(200);
    try {
      await trigger([{ event: 'delivered', email: 'plain@example.com' }]);
      expect(received[0].headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined();
    } finally {
      await call(client, {
        method: 'PATCH',
        url: '/v3/user/webhooks/event/settings/signed',
        body: { enabled: true },
      });
    }
  });

  it('refuses unknown event types on the admin trigger', async () => {
    expect(
      (
        await admin(sb.url, 'POST', '/sendgrid/events', {
          events: [{ event: 'exploded', email: 'x@example.com' }],
        })
      ).status,
    ).toBe(400);
  });
});
