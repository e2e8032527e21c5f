// Full paged read of N seeded contacts from each vendor sandbox, each in its own process started through
// scripts/sandbox.ts, over plain HTTP (no SDK, so the figure is the sandbox's, not a client's). Reports the read
// time and the sandbox process's peak RSS (VmHWM), prints a table and writes bench/sandboxes.json.
// Run: npx ts-node -T bench/sandboxes.ts [count]   (Linux only: RSS comes from /proc/<pid>/status)
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'sandbox.ts');
const OUT = path.join(__dirname, 'sandboxes.json');
/** The issue's budget for a 100k read: "well under a minute" and under 300 MB. */
const TIME_BUDGET_MS = 60_000;
const RSS_BUDGET_MB = 300;

interface Ready {
  vendor: string;
  url: string;
  pid: number;
  credentials: Record<string, string>;
}

interface Reader {
  /** Vendor-specific startSandbox options passed through --options. */
  options?: Record<string, unknown>;
  /** Admin calls before the read (lifting limits a real client would have to respect). */
  prepare?(ready: Ready): Promise<void>;
  read(ready: Ready, onRequest: () => void): Promise<number>;
}

export interface SandboxBenchResult {
  vendor: string;
  contacts: number;
  read: number;
  requests: number;
  throttled: number;
  startMs: number;
  readMs: number;
  peakRssMB: number;
  withinBudget: boolean;
}

let throttled = 0;

/** fetch + JSON, waiting out a 429 as a well-behaved client would (counted, so a throttled read shows). */
async function getJson(url: string, init: RequestInit = {}): Promise<any> {
  for (;;) {
    const res = await fetch(url, init);
    const text = await res.text();
    if (res.status === 429) {
      throttled++;
      const retry = Number(res.headers.get('retry-after') ?? 1);
      await new Promise((r) => setTimeout(r, Math.max(100, retry * 1000)));
      continue;
    }
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} -> ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }
}

const READERS: Record<string, Reader> = {
  salesforce: {
    async read({ credentials }, onRequest) {
      const headers = {
        Authorization: `Bearer ${credentials.accessToken}`,
        'Sforce-Query-Options': 'batchSize=2000',
      };
      const soql =
        'SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id';
      let next: string | undefined = `/services/data/v62.0/query?q=${encodeURIComponent(soql)}`;
      let read = 0;
      while (next) {
        onRequest();
        const page: { records: unknown[]; nextRecordsUrl?: string } = await getJson(
          `${credentials.instanceUrl}${next}`,
          {
            headers,
          },
        );
        read += page.records.length;
        next = page.nextRecordsUrl;
      }
      return read;
    },
  },
  hubspot: {
    // 100 requests per 10 s per token would make 1,000 pages take ~100 s by design; the bench measures the
    // sandbox, so the ten-second window is turned off (the daily budget still applies).
    options: { rateLimit: { max: 0 } },
    async read({ credentials }, onRequest) {
      const headers = { Authorization: `Bearer ${credentials.accessToken}` };
      const props = 'email,firstname,lastname,lastmodifieddate';
      let after: string | undefined;
      let read = 0;
      for (;;) {
        onRequest();
        const q = `limit=100&properties=${props}${after ? `&after=${after}` : ''}`;
        const page: { results: unknown[]; paging?: { next?: { after: string } } } = await getJson(
          `${credentials.basePath}/crm/v3/objects/contacts?${q}`,
          { headers },
        );
        read += page.results.length;
        after = page.paging?.next?.after;
        if (!after) return read;
      }
    },
  },
  sendgrid: {
    async prepare({ url }) {
      // 600 searches a minute would pace 2,000 pages to over 3 minutes; the admin route lifts it for the bench.
      await getJson(`${url}/__admin/sendgrid/rate-limit`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ limit: 1_000_000 }),
      });
    },
    async read({ credentials }, onRequest) {
      const headers = { Authorization: `Bearer ${credentials.apiKey}`, 'content-type': 'application/json' };
      let cursor: { t: string; id: string } | undefined;
      let read = 0;
      for (;;) {
        // Keyset on (updated_at, contact_id), 50 per page (SendGrid's search cap).
        const query = cursor
          ? `updated_at > TIMESTAMP '${cursor.t}' OR (updated_at = TIMESTAMP '${cursor.t}' AND contact_id > '${cursor.id}')`
          : `updated_at >= TIMESTAMP '1970-01-01T00:00:00Z'`;
        onRequest();
        const page: { result: Array<{ id: string; updated_at: string }> } = await getJson(
          `${credentials.baseUrl}/v3/marketing/contacts/search`,
          { method: 'POST', headers, body: JSON.stringify({ query }) },
        );
        if (page.result.length === 0) return read;
        read += page.result.length;
        const last = page.result[page.result.length - 1];
        cursor = { t: last.updated_at, id: last.id };
      }
    },
  },
};

function peakRssMB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

function startSandbox(
  vendor: string,
  count: number,
  options?: Record<string, unknown>,
): Promise<{ child: ChildProcessWithoutNullStreams; ready: Ready }> {
  const args = [SCRIPT, vendor, '--port', '0', '--seed', '1', '--count', String(count)];
  if (options) args.push('--options', JSON.stringify(options));
  // node + ts-node hook directly (not npm), so the pid printed is the sandbox's own and signals reach it.
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', ...args], { cwd: ROOT });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) =>
      resolve({ child, ready: JSON.parse(line) as Ready }),
    );
    child.once('exit', (code) => reject(new Error(`${vendor} sandbox exited (${code}): ${stderr}`)));
  });
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function benchSandbox(vendor: string, count: number): Promise<SandboxBenchResult> {
  const reader = READERS[vendor];
  const t0 = Date.now();
  const { child, ready } = await startSandbox(vendor, count, reader.options);
  const startMs = Date.now() - t0;
  try {
    await reader.prepare?.(ready);
    throttled = 0;
    let requests = 0;
    const t1 = Date.now();
    const read = await reader.read(ready, () => requests++);
    const readMs = Date.now() - t1;
    const peak = peakRssMB(ready.pid);
    return {
      vendor,
      contacts: count,
      read,
      requests,
      throttled,
      startMs,
      readMs,
      peakRssMB: peak,
      // Salesforce's query skips the seeded recycle-bin rows, so `read` may be a little under `count`.
      withinBudget: readMs < TIME_BUDGET_MS && peak < RSS_BUDGET_MB && read > 0,
    };
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 100_000);
  const vendors = process.argv[3] ? process.argv[3].split(',') : Object.keys(READERS);
  const results: SandboxBenchResult[] = [];
  for (const v of vendors) {
    if (!READERS[v]) throw new Error(`no reader for '${v}'; known: ${Object.keys(READERS).join(', ')}`);
    // One at a time, so sandboxes do not compete for CPU and each figure is its own.
    results.push(await benchSandbox(v, count));
  }
  console.table(
    results.map((r) => ({
      vendor: r.vendor,
      read: r.read,
      requests: r.requests,
      '429s': r.throttled,
      'start+seed s': (r.startMs / 1000).toFixed(1),
      'read s': (r.readMs / 1000).toFixed(1),
      'peak RSS MB': r.peakRssMB,
      ok: r.withinBudget ? 'yes' : 'NO',
    })),
  );
  fs.writeFileSync(
    OUT,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
  );
  console.log(`wrote ${path.relative(ROOT, OUT)}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
