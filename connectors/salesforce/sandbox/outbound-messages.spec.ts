// Outbound Messages end to end: records changed through jsforce, SOAP envelopes posted to a real listener,
// retried until it answers notificationsResponse/Ack true. The XML is checked with an independent parse.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { Connection } from 'jsforce';
import { startSandbox, type SalesforceSandbox } from './index';

const ACK = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`;
const NACK = ACK.replace('<Ack>true</Ack>', '<Ack>false</Ack>');

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A listener that fails the first `failures` posts (500, then a 200 with Ack false) and acks the rest. */
async function listener(
  failures: number,
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      const n = received.length;
      if (n <= failures) {
        res
          .writeHead(n % 2 === 1 ? 500 : 200, { 'content-type': 'text/xml' })
          .end(n % 2 === 1 ? 'boom' : NACK);
      } else {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(ACK);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/outbound`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Namespace-aware in the sense that matters here: prefixes are kept, so the test sees what was really sent.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  isArray: (name) => name === 'Notification',
});

describe('Salesforce Outbound Messages', () => {
  let sb: SalesforceSandbox;
  let hook: Awaited<ReturnType<typeof listener>>;
  let conn: Connection;

  afterEach(async () => {
    await sb.close();
    await hook.close();
  });

  it('sends SOAP notifications in batches of at most 100 and retries until the listener acks', async () => {
    sb = await startSandbox({ count: 300, seed: 3 });
    hook = await listener(2);
    conn = new Connection({
      instanceUrl: sb.credentials.instanceUrl,
      accessToken: sb.credentials.accessToken,
      version: '62.0',
    });
    const put = await fetch(`${sb.url}/__admin/webhooks`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: hook.url }),
    });
    expect(put.status).toBe(200);

    const ids = (
      await conn.query<{ Id: string }>('SELECT Id FROM Contact ORDER BY Id LIMIT 150')
    ).records.map((r) => r.Id);
    const results = await conn
      .sobject('Contact')
      .update(ids.map((Id) => ({ Id, Title: 'Outbound <&> test' })));
    expect(results.every((r) => r.success)).toBe(true);

    const flushed = await fetch(`${sb.url}/__admin/webhooks/flush?timeoutMs=8000`, { method: 'POST' });
    expect(flushed.status).toBe(200);

    // Two messages (100 + 50); one refused with a 500, the other with a 200 whose Ack is false: both retried
    const log = sb.webhooks.log;
    const byId = new Map<string, typeof log>();
    for (const a of log) byId.set(a.id, [...(byId.get(a.id) ?? []), a]);
    expect(byId.size).toBe(2);
    const attempts = [...byId.values()].map((list) => list.map((a) => [a.status, a.acked]));
    expect(attempts).toContainEqual([
      [500, false],
      [200, true],
    ]);
    expect(attempts).toContainEqual([
      [200, false],
      [200, true],
    ]);

    const acked = hook.received.slice(2);
    expect(acked).toHaveLength(2);
    // A retry resends the same message
    expect(new Set(acked.map((m) => m.body))).toEqual(new Set(hook.received.slice(0, 2).map((m) => m.body)));
    const notified: string[] = [];
    for (const msg of acked) {
      expect(msg.headers['content-type']).toMatch(/^text\/xml/);
      expect(msg.headers.soapaction).toBe('""');
      const doc = parser.parse(msg.body);
      const env = doc['soapenv:Envelope'];
      expect(env['@xmlns:soapenv']).toBe('http://schemas.xmlsoap.org/soap/envelope/');
      const n = env['soapenv:Body'].notifications;
      expect(n['@xmlns']).toBe('http://soap.sforce.com/2005/09/outbound');
      expect(n.OrganizationId).toBe(sb.credentials.organizationId);
      expect(n.ActionId).toMatch(/^04k[A-Za-z0-9]{15}$/);
      expect(n.SessionId['@xsi:nil']).toBe('true');
      expect(n.EnterpriseUrl).toBe(`${sb.url}/services/Soap/c/62.0/${sb.credentials.organizationId}`);
      expect(n.PartnerUrl).toBe(`${sb.url}/services/Soap/u/62.0/${sb.credentials.organizationId}`);
      expect(n.Notification.length).toBeLessThanOrEqual(100);
      for (const note of n.Notification) {
        expect(note.Id).toMatch(/^04l[A-Za-z0-9]{15}$/);
        const so = note.sObject;
        expect(so['@xsi:type']).toBe('sf:Contact');
        expect(so['@xmlns:sf']).toBe('urn:sobject.enterprise.soap.sforce.com');
        expect(so['sf:Title']).toBe('Outbound <&> test');
        expect(so['sf:SystemModstamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
        expect(so['sf:IsDeleted']).toBe('false');
        notified.push(so['sf:Id']);
      }
    }
    expect(notified.sort()).toEqual([...ids].sort());
  });

  it('sends nothing while no listener is configured', async () => {
    sb = await startSandbox({ count: 20, seed: 3 });
    hook = await listener(0);
    conn = new Connection({
      instanceUrl: sb.credentials.instanceUrl,
      accessToken: sb.credentials.accessToken,
      version: '62.0',
    });
    await conn.sobject('Contact').create({ LastName: 'Quiet' });
    await sb.webhooks.flush(2000);
    expect(sb.webhooks.log).toHaveLength(0);
    expect(hook.received).toHaveLength(0);
  });
});
