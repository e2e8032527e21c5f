// HubSpot webhook verification and parsing: real deliveries the sandbox POSTs to a loopback receiver (signed v3
// plus v1 or v2), and hand-built forged, stale, tampered and malformed ones.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ConnectionContext,
  WebhookEventType,
  WebhookRejection,
  type WebhookRequest,
  WebhookVerificationError,
} from '../../src/connectors';
import { webhookDelivery } from './conformance';
import { connectionFor } from './hubspot-spec-helpers';
import { HubSpotWebhookHandler } from './hubspot.webhooks';
import { signedWebhookHeaders, startSandbox, type HubSpotSandbox } from './sandbox';

const handler = new HubSpotWebhookHandler();

function rejection(fn: () => unknown): WebhookRejection | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (e instanceof WebhookVerificationError) return e.reason;
    throw e;
  }
}

/** Receives the sandbox's POSTs as the Syncline HTTP layer would hand them over: full URL, raw body. */
async function receiver(): Promise<{ url: string; received: WebhookRequest[]; close(): Promise<void> }> {
  const received: WebhookRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      received.push({
        method: req.method ?? 'POST',
        url: `http://${req.headers.host}${req.url}`,
        headers,
        rawBody: Buffer.concat(chunks),
        receivedAt: new Date(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/hubspot?source=sandbox`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('HubSpot webhooks', () => {
  describe('deliveries from the sandbox', () => {
    let sandbox: HubSpotSandbox;
    let rx: Awaited<ReturnType<typeof receiver>>;
    let conn: ConnectionContext;

    afterEach(async () => {
      await sandbox.close();
      await rx.close();
    });

    async function start(legacySignature: 'v1' | 'v2'): Promise<void> {
      rx = await receiver();
      sandbox = await startSandbox({ count: 5, seed: 2, webhookUrl: rx.url, legacySignature });
      conn = connectionFor(sandbox);
    }

    it('verifies v3 and parses creation, propertyChange and deletion events', async () => {
      await start('v1');
      const [a, b] = sandbox.store.all();
      sandbox.mutate(String(a.id), { jobtitle: 'Head of Data' });
      await delivered(sandbox);
      sandbox.mutate(String(b.id), { archived: true });
      await delivered(sandbox);
      expect(rx.received).toHaveLength(2);
      for (const req of rx.received) expect(rejection(() => handler.verify(conn, req))).toBe('accepted');

      const [change] = handler.parse(conn, rx.received[0]);
      const raw = JSON.parse(rx.received[0].rawBody.toString())[0];
      expect(change).toEqual({
        eventId: String(raw.eventId),
        type: WebhookEventType.Upsert,
        object: 'contacts',
        externalId: String(a.id),
        occurredAt: new Date(raw.occurredAt).toISOString(),
        partial: true,
        record: { id: String(a.id), properties: { jobtitle: 'Head of Data' } },
        vendorType: 'contact.propertyChange',
      });
      expect(handler.parse(conn, rx.received[1])).toEqual([
        expect.objectContaining({
          type: WebhookEventType.Delete,
          externalId: String(b.id),
          partial: false,
          vendorType: 'contact.deletion',
        }),
      ]);
    });

    it('verifies the legacy v1 signature when an older app gets no v3 header', async () => {
      await start('v1');
      sandbox.mutate(String(sandbox.store.all()[0].id), { city: 'Porto' });
      await delivered(sandbox);
      const req = rx.received[0];
      expect(req.headers['x-hubspot-signature-version']).toBe('v1');
      const legacyOnly = { ...req, headers: withoutV3(req.headers) };
      expect(rejection(() => handler.verify(conn, legacyOnly))).toBe('accepted');
      const tampered = {
        ...legacyOnly,
        rawBody: Buffer.from(req.rawBody.toString().replace('Porto', 'Paris')),
      };
      expect(rejection(() => handler.verify(conn, tampered))).toBe(WebhookRejection.Forged);
    });

    it('verifies the legacy v2 signature, which also covers method and URL', async () => {
      await start('v2');
      const created = sandbox.store.create({ email: 'v2@example.com' }, 'API');
      await delivered(sandbox);
      const req = rx.received[0];
      expect(req.headers['x-hubspot-signature-version']).toBe('v2');
      const legacyOnly = { ...req, headers: withoutV3(req.headers) };
      expect(rejection(() => handler.verify(conn, legacyOnly))).toBe('accepted');
      const events = handler.parse(conn, legacyOnly);
      expect(events[0]).toMatchObject({
        type: WebhookEventType.Upsert,
        externalId: String(created.id),
        vendorType: 'contact.creation',
        partial: true,
      });
      const otherUrl = { ...legacyOnly, url: legacyOnly.url.replace('source=sandbox', 'source=elsewhere') };
      expect(rejection(() => handler.verify(conn, otherUrl))).toBe(WebhookRejection.Forged);
    });
  });

  describe('hand-built deliveries', () => {
    let sandbox: HubSpotSandbox;
    let conn: ConnectionContext;
    beforeAll(async () => {
      sandbox = await startSandbox({ count: 3, seed: 4 });
      conn = connectionFor(sandbox);
    });
    afterAll(() => sandbox.close());

    it('accepts a valid v3 delivery and refuses forged, stale and tampered ones', () => {
      const ids = ['101', '102'];
      expect(rejection(() => handler.verify(conn, webhookDelivery(sandbox, 'valid', ids)))).toBe('accepted');
      expect(rejection(() => handler.verify(conn, webhookDelivery(sandbox, 'forged', ids)))).toBe(
        WebhookRejection.Forged,
      );
      expect(rejection(() => handler.verify(conn, webhookDelivery(sandbox, 'stale', ids)))).toBe(
        WebhookRejection.Stale,
      );
      expect(rejection(() => handler.verify(conn, webhookDelivery(sandbox, 'tampered', ids)))).toBe(
        WebhookRejection.Forged,
      );
    });

    it('holds the five-minute window at both edges and against the receive time', () => {
      const now = Date.now();
      const at = (ageMs: number) => webhookDelivery(sandbox, 'valid', ['101'], { now: now - ageMs });
      const receivedNow = (r: WebhookRequest) => ({ ...r, receivedAt: new Date(now) });
      expect(rejection(() => handler.verify(conn, receivedNow(at(4 * 60_000))))).toBe('accepted');
      expect(rejection(() => handler.verify(conn, receivedNow(at(5 * 60_000 + 1_000))))).toBe(
        WebhookRejection.Stale,
      );
      expect(rejection(() => handler.verify(conn, receivedNow(at(-6 * 60_000))))).toBe(
        WebhookRejection.Stale,
      );
    });

    it('refuses a delivery with no signature, a wrong URL, or no secret configured', () => {
      const valid = webhookDelivery(sandbox, 'valid', ['101']);
      expect(rejection(() => handler.verify(conn, { ...valid, headers: {} }))).toBe(WebhookRejection.Forged);
      expect(rejection(() => handler.verify(conn, { ...valid, url: `${valid.url}&x=1` }))).toBe(
        WebhookRejection.Forged,
      );
      expect(rejection(() => handler.verify(conn, { ...valid, method: 'PUT' }))).toBe(
        WebhookRejection.Forged,
      );
      const noSecret = { ...conn, credentials: { ...conn.credentials, clientSecret: '' } };
      expect(rejection(() => handler.verify(noSecret, valid))).toBe(WebhookRejection.Forged);
    });

    it('a correctly signed body that is not a JSON array of events is malformed', () => {
      const { clientSecret } = sandbox.credentials;
      const url = 'https://syncline.example.test/hooks';
      const signed = (body: string): WebhookRequest => ({
        method: 'POST',
        url,
        headers: signedWebhookHeaders({ clientSecret, url, body, legacyVersion: 'none' }),
        rawBody: Buffer.from(body),
        receivedAt: new Date(),
      });
      for (const body of [
        '{"eventId": 1',
        '{"eventId":1}',
        '[{"subscriptionType":"contact.creation"}]',
        '[42]',
      ]) {
        const req = signed(body);
        expect(rejection(() => handler.verify(conn, req))).toBe('accepted');
        expect(rejection(() => handler.parse(conn, req))).toBe(WebhookRejection.Malformed);
      }
    });
  });
});

/** The sandbox queues events in a microtask after the change; let it run, then wait for the POSTs to be answered. */
async function delivered(sandbox: HubSpotSandbox): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await sandbox.webhooks.flush();
}

function withoutV3(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...headers };
  delete out['x-hubspot-signature-v3'];
  delete out['x-hubspot-request-timestamp'];
  return out;
}
