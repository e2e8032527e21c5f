// Event Webhook verification and parsing with deliveries signed by the sandbox (its ECDSA key pair).
import { generateKeyPairSync } from 'node:crypto';
import {
  WebhookEventType,
  WebhookRejection,
  WebhookVerificationError,
  type ConnectionContext,
  type WebhookRequest,
} from '../../src/connectors';
import { conformance } from './conformance';
import { startSandbox, type SendGridSandbox } from './sandbox';
import { buildEvent, signEventPayload, type EventSpec } from './sandbox/sendgrid-events';
import { SendGridWebhooks } from './sendgrid.webhooks';

describe('SendGrid Event Webhook', () => {
  let sb: SendGridSandbox;
  let connection: ConnectionContext;
  const hooks = new SendGridWebhooks();

  beforeAll(async () => {
    sb = await startSandbox();
    connection = {
      id: 'sg-webhooks',
      connector: 'sendgrid',
      baseUrl: sb.url,
      credentials: { apiKey: sb.credentials.apiKey, webhookPublicKey: sb.credentials.webhookPublicKey },
      settings: {},
    };
  });
  afterAll(() => sb.close());

  const request = (
    body: string,
    headers: Record<string, string>,
    receivedAt = new Date(),
  ): WebhookRequest => ({
    method: 'POST',
    url: 'https://syncline.example/webhooks/sendgrid',
    headers: { 'content-type': 'application/json', ...headers },
    rawBody: Buffer.from(body),
    receivedAt,
  });
  const rejection = (req: WebhookRequest, conn = connection): WebhookRejection => {
    try {
      hooks.verify(conn, req);
    } catch (e) {
      expect(e).toBeInstanceOf(WebhookVerificationError);
      return (e as WebhookVerificationError).reason;
    }
    throw new Error('expected verify to refuse the delivery');
  };
  const body = (events: EventSpec[]): string => JSON.stringify(events.map(buildEvent));

  it('accepts a delivery signed by SendGrid (lower- or mixed-case headers)', () => {
    const b = body([{ event: 'delivered', email: 'a@example.com' }]);
    const headers = sb.sign(b); // mixed-case header names, as SendGrid sends them
    expect(() => hooks.verify(connection, request(b, headers))).not.toThrow();
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(() => hooks.verify(connection, request(b, lower))).not.toThrow();
  });

  it('refuses a signature from another key as forged', () => {
    const b = body([{ event: 'unsubscribe', email: 'a@example.com' }]);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(
      rejection(request(b, signEventPayload(privateKey, String(Math.floor(Date.now() / 1000)), b))),
    ).toBe(WebhookRejection.Forged);
  });

  it('refuses missing headers, garbage signatures and a missing public key as forged', () => {
    const b = body([{ event: 'open', email: 'a@example.com' }]);
    expect(rejection(request(b, {}))).toBe(WebhookRejection.Forged);
    const h = sb.sign(b);
    const garbage = Object.fromEntries(
      Object.entries(h).map(([k, v]) => [k, /Signature/.test(k) ? 'bm90IGEgc2lnbmF0dXJl' : v]),
    );
    expect(rejection(request(b, garbage))).toBe(WebhookRejection.Forged);
    expect(rejection(request(b, h), { ...connection, credentials: { apiKey: 'x' } })).toBe(
      WebhookRejection.Forged,
    );
  });

  it('refuses a tampered body (signature over the original) as forged', () => {
    const b = body([{ event: 'unsubscribe', email: 'victim@example.com' }]);
    const h = sb.sign(b);
    expect(rejection(request(b.replace('victim@', 'other@'), h))).toBe(WebhookRejection.Forged);
  });

  it('refuses a genuine but old delivery as stale (10-minute window), and a future one', () => {
    const b = body([{ event: 'delivered', email: 'a@example.com' }]);
    const now = Math.floor(Date.now() / 1000);
    expect(rejection(request(b, sb.sign(b, String(now - 11 * 60))))).toBe(WebhookRejection.Stale);
    expect(rejection(request(b, sb.sign(b, String(now + 11 * 60))))).toBe(WebhookRejection.Stale);
    expect(() => hooks.verify(connection, request(b, sb.sign(b, String(now - 9 * 60))))).not.toThrow();
  });

  it('parses consent, deliverability and other events', () => {
    const ts = 1_700_000_000;
    const events: EventSpec[] = [
      { event: 'unsubscribe', email: 'U1@Example.com', timestamp: ts },
      { event: 'group_unsubscribe', email: 'u2@example.com', timestamp: ts + 1, asm_group_id: 42 },
      { event: 'spamreport', email: 'u3@example.com', timestamp: ts + 2 },
      { event: 'bounce', email: 'b@example.com', timestamp: ts + 3 },
      { event: 'dropped', email: 'd@example.com', timestamp: ts + 4 },
      { event: 'bounce', email: 'soft@example.com', timestamp: ts + 5, type: 'blocked' },
      ...(['delivered', 'open', 'click', 'processed', 'deferred'] as const).map((event, i) => ({
        event,
        email: 'o@example.com',
        timestamp: ts + 10 + i,
      })),
    ];
    const raw = events.map(buildEvent);
    const parsed = hooks.parse(connection, request(JSON.stringify(raw), {}));
    expect(parsed.map((e) => e.eventId)).toEqual(raw.map((r) => r.sg_event_id));
    expect(parsed[0]).toEqual({
      eventId: raw[0].sg_event_id,
      type: WebhookEventType.Consent,
      object: 'contacts',
      email: 'u1@example.com',
      occurredAt: '2023-11-14T22:13:20.000Z',
      partial: true,
      fields: { emailConsent: 'unsubscribed', unsubscribedAt: '2023-11-14T22:13:20.000Z' },
      vendorType: 'unsubscribe',
    });
    expect(parsed[1].fields).toEqual({
      emailConsent: 'unsubscribed',
      unsubscribedAt: '2023-11-14T22:13:21.000Z',
    });
    expect(parsed[2].fields).toEqual({
      emailConsent: 'unsubscribed',
      unsubscribedAt: '2023-11-14T22:13:22.000Z',
    });
    expect(parsed[3]).toMatchObject({
      type: WebhookEventType.Consent,
      fields: { emailDeliverability: 'bounced' },
    });
    expect(parsed[4]).toMatchObject({
      type: WebhookEventType.Consent,
      fields: { emailDeliverability: 'dropped' },
    });
    expect(parsed[5]).toMatchObject({ type: WebhookEventType.Other, vendorType: 'bounce' }); // blocked: temporary refusal
    expect(parsed[5].fields).toBeUndefined();
    for (const e of parsed.slice(6)) {
      expect(e.type).toBe(WebhookEventType.Other);
      expect(e.fields).toBeUndefined();
      expect(e.email).toBe('o@example.com');
    }
    expect(parsed.map((e) => e.vendorType).slice(6)).toEqual([
      'delivered',
      'open',
      'click',
      'processed',
      'deferred',
    ]);
  });

  it('refuses bodies that are not an event array as malformed', () => {
    const reason = (b: string): WebhookRejection | undefined => {
      try {
        hooks.parse(connection, request(b, {}));
      } catch (e) {
        return (e as WebhookVerificationError).reason;
      }
      return undefined;
    };
    expect(reason('{"not":"json"')).toBe(WebhookRejection.Malformed);
    expect(reason('{"event":"open"}')).toBe(WebhookRejection.Malformed);
    expect(reason('[{"event":"open","email":"a@b.io","timestamp":1}]')).toBe(WebhookRejection.Malformed); // no sg_event_id
    expect(reason('[{"event":"open","sg_event_id":"x","timestamp":"yesterday"}]')).toBe(
      WebhookRejection.Malformed,
    );
    expect(reason('[]')).toBeUndefined();
  });

  it('verifies what the sandbox actually POSTs to a receiver', async () => {
    const received: WebhookRequest[] = [];
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          method: req.method!,
          url: `http://127.0.0.1${req.url}`,
          headers: Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
          ),
          rawBody: Buffer.concat(chunks),
          receivedAt: new Date(),
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      sb.webhooks.configure({ url: `http://127.0.0.1:${port}/hooks` });
      sb.sendEvents([{ event: 'spamreport', email: 'spam@example.com' }]);
      for (let i = 0; i < 200 && !received.length; i++) await new Promise((r) => setTimeout(r, 10));
      expect(received.length).toBeGreaterThan(0);
      hooks.verify(connection, received[0]);
      const [event] = hooks.parse(connection, received[0]);
      expect(event).toMatchObject({
        type: WebhookEventType.Consent,
        email: 'spam@example.com',
        vendorType: 'spamreport',
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('the conformance profile builds valid, forged, stale and tampered deliveries', async () => {
    const h = await conformance.start({ count: 6, seed: 5 });
    try {
      const ids = await h.recordIds();
      const handler = (await import('./sendgrid.webhooks')).SendGridWebhooks;
      const v = new handler();
      expect(() => v.verify(h.connection, h.webhook('valid', ids) as WebhookRequest)).not.toThrow();
      const reasonOf = (variant: 'forged' | 'stale' | 'tampered'): WebhookRejection | undefined => {
        try {
          v.verify(h.connection, h.webhook(variant, ids) as WebhookRequest);
        } catch (e) {
          return (e as WebhookVerificationError).reason;
        }
        return undefined;
      };
      expect(reasonOf('forged')).toBe(WebhookRejection.Forged);
      expect(reasonOf('stale')).toBe(WebhookRejection.Stale);
      expect(reasonOf('tampered')).toBe(WebhookRejection.Forged);
    } finally {
      await h.close();
    }
  });
});
