// Memory and time of the SendGrid sandbox at 100,000 contacts: PUT in 10,000-contact chunks through
// @sendgrid/client, wait for the jobs, then read everything back with keyset SGQL searches
// (updated_at, contact_id) 50 at a time. Run: npx ts-node -T connectors/sendgrid/sandbox/sendgrid-memory.bench.ts
import { startSandbox } from './index';
import { call, sdkClient, waitFor } from './sendgrid-test.helpers';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 100_000);
  const sb = await startSandbox({ jobDelayMs: 10, rateLimit: { limit: 1_000_000 } });
  const client = sdkClient(sb.credentials.apiKey, sb.url);
  let peak = 0;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  const t0 = Date.now();
  for (let start = 0; start < total; start += 10_000) {
    const contacts = Array.from({ length: Math.min(10_000, total - start) }, (_, i) => ({
      email: `person${start + i}@bench.example.com`,
      first_name: `First${start + i}`,
      last_name: 'Bench',
      city: 'Lyon',
      country: 'FR',
    }));
    const r = await call(client, { method: 'PUT', url: '/v3/marketing/contacts', body: { contacts } });
    await waitFor(
      () => call(client, { method: 'GET', url: `/v3/marketing/contacts/imports/${r.body.job_id}` }),
      (x) => x.body.status !== 'pending',
      60_000,
    );
  }
  const tPut = Date.now() - t0;
  let read = 0;
  let cursor: { t: string; id: string } | undefined;
  const t1 = Date.now();
  for (;;) {
    const query = cursor
      ? `updated_at > TIMESTAMP '${cursor.t}' OR (updated_at = TIMESTAMP '${cursor.t}' AND contact_id > '${cursor.id}')`
      : `created_at > TIMESTAMP '2000-01-01T00:00:00Z'`;
    const r = await call(client, { method: 'POST', url: '/v3/marketing/contacts/search', body: { query } });
    const page = r.body.result as Array<{ id: string; updated_at: string }>;
    if (page.length === 0) break;
    read += page.length;
    const last = page[page.length - 1];
    cursor = { t: last.updated_at, id: last.id };
  }
  const tRead = Date.now() - t1;
  clearInterval(timer);
  sample();
  const out = {
    contacts: sb.store.contacts.size,
    read,
    putMs: tPut,
    readMs: tRead,
    peakRssMB: Math.round(peak / 1048576),
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1048576),
  };
  console.log(JSON.stringify(out));
  await sb.close();
}

void main();
