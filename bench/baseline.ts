// The bare-script baseline of `npm run bench`: copies Salesforce contacts to SendGrid with the same SDKs Syncline
// uses (jsforce, @sendgrid/client) and no middleware: SOQL with nextRecordsUrl paging, the contacts a marketing
// list may hold (an email, not opted out, as Syncline's consent gate), PUT /v3/marketing/contacts in big chunks,
// each import job polled to its end. Prints one protocol line: {wall_s, read, sent, peak_rss_mb}.
// Run: ts-node -T bench/baseline.ts '<salesforce ready JSON>' '<sendgrid ready JSON>'
import { Client } from '@sendgrid/client';
import { Connection } from 'jsforce';
import { emit, peakRssMb, round, sleep, type SandboxReady } from './lib';

/** SendGrid accepts up to 30,000 contacts (6 MB) per PUT; 10,000 stays well inside both. */
const CHUNK = 10_000;
/** Same poll interval as the Syncline connection in the bench, so job waits weigh the same on both sides. */
const JOB_POLL_MS = 20;
const SOQL = 'SELECT Id, Email, FirstName, LastName, MailingCity, HasOptedOutOfEmail FROM Contact';

interface SfContact {
  Id: string;
  Email: string | null;
  FirstName: string | null;
  LastName: string | null;
  MailingCity: string | null;
  HasOptedOutOfEmail: boolean;
}

async function main(): Promise<void> {
  const sf = JSON.parse(process.argv[2]) as SandboxReady;
  const sg = JSON.parse(process.argv[3]) as SandboxReady;
  const conn = new Connection({
    instanceUrl: sf.credentials.instanceUrl,
    accessToken: sf.credentials.accessToken,
    version: '62.0',
  });
  const client = new Client();
  client.setApiKey(sg.credentials.apiKey);
  // setApiKey() resets baseUrl, so the sandbox override comes after it.
  client.setDefaultRequest('baseUrl', `${sg.url}/`);

  const t0 = process.hrtime.bigint();
  let read = 0;
  let sent = 0;
  let buffer: Record<string, string>[] = [];
  const flush = async () => {
    if (!buffer.length) return;
    const [, body] = await client.request({
      method: 'PUT',
      url: '/v3/marketing/contacts',
      body: { contacts: buffer },
    });
    const jobId = (body as { job_id: string }).job_id;
    for (;;) {
      const [, job] = await client.request({ method: 'GET', url: `/v3/marketing/contacts/imports/${jobId}` });
      if ((job as { status: string }).status !== 'pending') break;
      await sleep(JOB_POLL_MS);
    }
    sent += buffer.length;
    buffer = [];
  };

  let page = await conn.query<SfContact>(SOQL, {
    headers: { 'Sforce-Query-Options': 'batchSize=2000' },
  } as never);
  for (;;) {
    for (const c of page.records) {
      read++;
      if (!c.Email || c.HasOptedOutOfEmail) continue;
      buffer.push({
        email: c.Email.trim().toLowerCase(),
        first_name: c.FirstName ?? '',
        last_name: c.LastName ?? '',
        city: c.MailingCity ?? '',
        external_id: c.Id,
      });
    }
    if (buffer.length >= CHUNK) await flush();
    if (page.done || !page.nextRecordsUrl) break;
    page = await conn.queryMore<SfContact>(page.nextRecordsUrl);
  }
  await flush();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  emit({ wall_s: round(wallS, 3), read, sent, peak_rss_mb: peakRssMb() });
}

main().catch((err: unknown) => {
  emit({ error: (err as Error).stack ?? String(err) });
  process.exit(1);
});
