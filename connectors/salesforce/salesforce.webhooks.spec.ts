// Outbound Message webhooks: built by the sandbox's own envelope code, and one real delivery over loopback
// whose SOAP Ack the sandbox's dispatcher must accept (or it would retry).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  WebhookEventType,
  WebhookRejection,
  WebhookVerificationError,
  type WebhookRequest,
} from '../../src/connectors';
import { MappingRegistry } from '../../src/mapping';
import {
  connectionFor,
  outboundMessage,
  RETIRED_WEBHOOK_SECRET,
  WEBHOOK_SECRET,
  conformance,
} from './conformance';
import { startSandbox, type SalesforceSandbox } from './sandbox';
import { isOutboundAck } from './sandbox/outbound-messages';
import { SLOT_IS_DELETED } from './sandbox/salesforce-schema';
import { SalesforceWebhooks } from './salesforce.webhooks';

function rejection(fn: () => unknown): WebhookRejection | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (e instanceof WebhookVerificationError) return e.reason;
    throw e;
  }
}

describe('Salesforce Outbound Message webhooks', () => {
  let sb: SalesforceSandbox;
  const hooks = new SalesforceWebhooks(new MappingRegistry());
  let ids: string[];

  beforeAll(async () => {
    sb = await startSandbox({ seed: 5, count: 30, leadCount: 0 });
    ids = [...sb.store.table('Contact').byId.values()]
      .filter((r) => r[SLOT_IS_DELETED] === false)
      .map((r) => r[0] as string)
      .slice(0, 3);
  });
  afterAll(() => sb.close());

  it('verifies a genuine message and parses one upsert event per Notification', () => {
    const conn = connectionFor(sb);
    const req = outboundMessage(sb, ids, { token: WEBHOOK_SECRET });
    expect(rejection(() => hooks.verify(conn, req))).toBe('accepted');
    const events = hooks.parse(conn, req);
    expect(events).toHaveLength(3);
    const row = sb.store.locate(ids[0])?.row as unknown[];
    expect(events[0]).toMatchObject({
      type: WebhookEventType.Upsert,
      object: 'Contact',
      externalId: ids[0],
      occurredAt: new Date(row[2] as number).toISOString(),
      partial: true, // Account.Name never comes in an Outbound Message
      vendorType: 'OutboundMessage',
    });
    expect(events[0].eventId).toMatch(/^04l/);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    expect(events[0].record).toMatchObject({ Id: ids[0], HasOptedOutOfEmail: expect.any(Boolean) });
  });

  it('marks an event complete only when every mapped field is present', () => {
    const conn = connectionFor(sb);
    const req = outboundMessage(sb, [ids[0]], { token: WEBHOOK_SECRET });
    const leadFields = [
      'Email',
      'FirstName',
      'LastName',
      'Phone',
      'MobilePhone',
      'Title',
      'Company',
      'City',
      'Country',
      'LeadSource',
      'Description',
    ];
    const sobject = (type: string, fields: string[]) =>
      `<sObject xsi:type="sf:${type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00QHs0000000001AAA</sf:Id>` +
      `<sf:SystemModstamp>2025-01-01T00:00:00.000Z</sf:SystemModstamp><sf:HasOptedOutOfEmail>false</sf:HasOptedOutOfEmail>` +
      fields.map((f) => `<sf:${f}>v</sf:${f}>`).join('') +
      '</sObject>';
    const withSObject = (xml: string) => ({
      ...req,
      rawBody: Buffer.from(req.rawBody.toString('utf8').replace(/<sObject[^>]*>.*?<\/sObject>/, xml)),
    });
    const [complete] = hooks.parse(conn, withSObject(sobject('Lead', leadFields)));
    expect(complete).toMatchObject({
      object: 'Lead',
      partial: false,
      occurredAt: '2025-01-01T00:00:00.000Z',
    });
    expect(complete.record).toMatchObject({ HasOptedOutOfEmail: false, Company: 'v' });
    // Salesforce leaves null fields out of the message: then the engine must fetch the record
    const [missing] = hooks.parse(
      conn,
      withSObject(
        sobject(
          'Lead',
          leadFields.filter((f) => f !== 'Phone'),
        ),
      ),
    );
    expect(missing.partial).toBe(true);
  });

  it('rejects another org as forged, a rotated-out token as stale, a wrong or missing token as forged', () => {
    const conn = connectionFor(sb);
    expect(
      rejection(() =>
        hooks.verify(
          conn,
          outboundMessage(sb, ids, { token: WEBHOOK_SECRET, organizationId: '00DHs0000000999AAA' }),
        ),
      ),
    ).toBe(WebhookRejection.Forged);
    expect(
      rejection(() => hooks.verify(conn, outboundMessage(sb, ids, { token: RETIRED_WEBHOOK_SECRET }))),
    ).toBe(WebhookRejection.Stale);
    expect(rejection(() => hooks.verify(conn, outboundMessage(sb, ids, { token: 'guess' })))).toBe(
      WebhookRejection.Forged,
    );
    expect(rejection(() => hooks.verify(conn, outboundMessage(sb, ids, {})))).toBe(WebhookRejection.Forged);
    // Without a configured secret the org id is the only check; without an org id nothing can be verified
    const noSecret = { ...conn, settings: { organizationId: sb.credentials.organizationId } };
    expect(rejection(() => hooks.verify(noSecret, outboundMessage(sb, ids, {})))).toBe('accepted');
    expect(rejection(() => hooks.verify({ ...conn, settings: {} }, outboundMessage(sb, ids, {})))).toBe(
      WebhookRejection.Forged,
    );
    // A 15-character org id in settings matches the 18-character one in the message
    const short = { ...noSecret, settings: { organizationId: sb.credentials.organizationId.slice(0, 15) } };
    expect(rejection(() => hooks.verify(short, outboundMessage(sb, ids, {})))).toBe('accepted');
  });

  it('does not reject an old SystemModstamp: Salesforce redelivers for 24 hours', () => {
    const conn = connectionFor(sb);
    const old = outboundMessage(sb, ids, {
      token: WEBHOOK_SECRET,
      receivedAt: new Date(Date.now() + 23 * 3_600_000),
    });
    expect(rejection(() => hooks.verify(conn, old))).toBe('accepted');
  });

  it('answers malformed XML and non-Outbound-Message bodies as malformed', () => {
    const conn = connectionFor(sb);
    const base = outboundMessage(sb, ids, { token: WEBHOOK_SECRET });
    const cut = { ...base, rawBody: base.rawBody.subarray(0, 200) };
    expect(rejection(() => hooks.verify(conn, cut))).toBe(WebhookRejection.Malformed);
    expect(rejection(() => hooks.parse(conn, cut))).toBe(WebhookRejection.Malformed);
    const other = { ...base, rawBody: Buffer.from('<?xml version="1.0"?><a><b>1</b></a>') };
    expect(rejection(() => hooks.verify(conn, other))).toBe(WebhookRejection.Malformed);
    expect(rejection(() => hooks.verify(conn, { ...base, rawBody: Buffer.alloc(0) }))).toBe(
      WebhookRejection.Malformed,
    );
  });

  it('acks with the SOAP notificationsResponse the sandbox accepts', () => {
    const ack = hooks.ack();
    expect(ack.status).toBe(200);
    expect(ack.contentType).toMatch(/^text\/xml/);
    expect(ack.body).toContain('<Ack>true</Ack>');
    expect(isOutboundAck(ack.status, ack.body)).toBe(true);
  });

  it('receives a real delivery from the sandbox, verifies, parses and acks it so it is not retried', async () => {
    const conn = connectionFor(sb);
    const received: string[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request: WebhookRequest = {
          method: req.method ?? 'POST',
          url: `http://127.0.0.1${req.url ?? '/'}`,
          headers: req.headers as Record<string, string>,
          rawBody: Buffer.concat(chunks),
          receivedAt: new Date(),
        };
        try {
          hooks.verify(conn, request);
          received.push(...hooks.parse(conn, request).map((e) => e.externalId as string));
          const ack = hooks.ack();
          res.writeHead(ack.status, { 'content-type': ack.contentType }).end(ack.body);
        } catch (e) {
          res
            .writeHead(
              e instanceof WebhookVerificationError && e.reason === WebhookRejection.Malformed ? 400 : 401,
            )
            .end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      sb.webhooks.configure({ url: `http://127.0.0.1:${port}/hooks/sf?token=${WEBHOOK_SECRET}` });
      sb.mutate(ids[1], { Title: 'Hooked' });
      // The messenger batches one tick of changes before handing them to the dispatcher
      await new Promise((r) => setImmediate(r));
      await sb.webhooks.flush(5_000);
      expect(received).toEqual([ids[1]]);
      expect(sb.webhooks.log).toHaveLength(1);
      expect(sb.webhooks.log[0]).toMatchObject({ status: 200, acked: true, attempt: 1 });
    } finally {
      sb.webhooks.configure({ url: '' });
      await new Promise((r) => server.close(r));
    }
  });

  it('gives the conformance kit valid, forged, stale and tampered deliveries that verify as intended', async () => {
    const h = await conformance.start({ count: 20, seed: 3 });
    try {
      const some = (await h.recordIds()).slice(0, 2);
      const handler = new SalesforceWebhooks(new MappingRegistry());
      const verdict = async (v: 'valid' | 'forged' | 'stale' | 'tampered') =>
        rejection(() => handler.verify(h.connection, h.webhook(v, some) as WebhookRequest));
      expect(await verdict('valid')).toBe('accepted');
      expect(await verdict('forged')).toBe(WebhookRejection.Forged);
      expect(await verdict('stale')).toBe(WebhookRejection.Stale);
      expect(await verdict('tampered')).toBe(WebhookRejection.Forged);
    } finally {
      await h.close();
    }
  });
});
