// Measures a full paged read of a large seeded HubSpot sandbox through @hubspot/api-client (GET list, 100 per
// page, rate limit off), then a 10,000-result search walk. The sandbox runs in a child process so its RSS is
// measured alone, without the client's. Run: npx ts-node -T connectors/hubspot/sandbox/full-read.bench.ts [count]
import { fork } from 'node:child_process';
import { Client } from '@hubspot/api-client';
import { startSandbox } from './index';

interface Ready {
  basePath: string;
  accessToken: string;
  seedMs: number;
  rssAfterSeedMB: number;
}

async function serve(count: number): Promise<void> {
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = Date.now();
  const sandbox = await startSandbox({ count, seed: 1, rateLimit: { max: 0 } });
  const ready: Ready = {
    basePath: sandbox.credentials.basePath,
    accessToken: sandbox.credentials.accessToken,
    seedMs: Date.now() - started,
    rssAfterSeedMB: Math.round(process.memoryUsage().rss / 1e6),
  };
  process.send?.(ready);
  process.once('message', async () => {
    clearInterval(sample);
    peak = Math.max(peak, process.memoryUsage().rss);
    process.send?.({ peakRssMB: Math.round(peak / 1e6) });
    await sandbox.close();
    process.exit(0);
  });
}

async function measure(count: number): Promise<void> {
  const child = fork(__filename, ['--serve', String(count)], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const next = <T>() => new Promise<T>((resolve) => child.once('message', (m) => resolve(m as T)));
  const ready = await next<Ready>();
  const client = new Client({ accessToken: ready.accessToken, basePath: ready.basePath });
  const started = Date.now();
  let read = 0;
  let after: string | undefined;
  do {
    const page = await client.crm.contacts.basicApi.getPage(100, after, [
      'email',
      'firstname',
      'lastname',
      'phone',
      'country',
    ]);
    read += page.results.length;
    after = page.paging?.next?.after;
  } while (after);
  const readMs = Date.now() - started;
  const searchStarted = Date.now();
  let searched = 0;
  after = undefined;
  do {
    const page = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [],
      sorts: ['lastmodifieddate'],
      limit: 200,
      after,
      properties: ['email'],
    });
    searched += page.results.length;
    after = page.paging?.next?.after;
  } while (after);
  const searchMs = Date.now() - searchStarted;
  const done = next<{ peakRssMB: number }>();
  child.send('done');
  const { peakRssMB } = await done;
  console.log(
    JSON.stringify({
      count,
      read,
      seedMs: ready.seedMs,
      readMs,
      recordsPerSec: Math.round(read / (readMs / 1000)),
      searched,
      searchMs,
      sandboxRssAfterSeedMB: ready.rssAfterSeedMB,
      sandboxPeakRssMB: peakRssMB,
    }),
  );
}

const serveAt = process.argv.indexOf('--serve');
void (serveAt > 0 ? serve(Number(process.argv[serveAt + 1])) : measure(Number(process.argv[2] ?? 100_000)));
