// `npm run bench [-- --quick | --large] [--profile] [--ts] [--only=full_sync,incremental,…]`: the benchmark suite of
// issue 7. Vendor sandboxes run as their own processes (scripts/sandbox.ts), Syncline runs in its own child
// (bench/syncline-process.ts) and so does the bare-SDK baseline (bench/baseline.ts); this runner only starts
// them, drives load (autocannon) and samples /proc. Figures are merged into bench/results.json (with --large,
// bench/results-large.json), table on stdout.
// Every process runs compiled JavaScript from dist/ (the runner builds first), as `npm start` does; `--ts` runs
// them under ts-node instead (quicker to iterate, heavier: the TypeScript compiler lives in each process).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { DataSource } from 'typeorm';
import { signV3 } from '../connectors/hubspot/sandbox/webhook-signing';
import {
  BenchChild,
  json,
  mergeResults,
  RESULTS,
  RESULTS_LARGE,
  OUT_DIR,
  percentile,
  postJson,
  ROOT,
  round,
  sleep,
  startSandbox,
  stopChild,
  runArgs,
  buildForBench,
  type RunningSandbox,
} from './lib';
import { detectionQualityOf } from './detection-quality';
import { scaleOut } from './scale-out';
import { FULL_SYNC_ID, SF_WEBHOOK_SECRET } from './syncline-process';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const LARGE = argv.includes('--large');
const PROFILE = argv.includes('--profile');
const ONLY = (argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? '')
  .split(',')
  .filter(Boolean);
const wants = (s: string) => !ONLY.length || ONLY.includes(s);

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FULL_COUNT = LARGE ? 1_000_000 : QUICK ? 10_000 : 100_000;
/** The Salesforce sandbox's seed: which seeded people (and duplicates) the full syncs read. */
const SF_SEED = 1;
const CHANGES = 1_000;
/**
 * Incremental runs, each on its own 1,000 contacts (none of them warmed by an earlier round): one run of about a
 * second is one sample of a noisy figure, so the median of several is what is reported, with every round.
 */
const INCREMENTAL_ROUNDS = QUICK ? 3 : 5;
/** Deliveries per second offered (BENCH_WEBHOOK_RATE to find where acknowledgements saturate). */
const WEBHOOK_RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 1_000);
/**
 * Higher rates offered after the measured one, acknowledgements only (BENCH_WEBHOOK_SWEEP=2000,4000; empty for
 * none): where the acknowledgement latency of one process gives way, on this machine's two cores shared with the
 * load generator, the sandboxes and the engine working through what the deliveries asked for.
 */
const WEBHOOK_SWEEP = (process.env.BENCH_WEBHOOK_SWEEP ?? (QUICK ? '2000' : '2000,4000'))
  .split(',')
  .filter(Boolean)
  .map(Number);
const WEBHOOK_SECONDS = QUICK ? 3 : 10;
/** Deliveries at the same rate before the measured ones, not counted (see webhookIngest). */
const WEBHOOK_WARMUP_SECONDS = QUICK ? 1 : 2;
const E2E_SAMPLES = QUICK ? 8 : 20;
/** SendGrid really takes seconds per import job; the bench shortens it so the job wait does not hide the rest. */
const SENDGRID_OPTIONS = { jobDelayMs: 20 };
const HUBSPOT_CONTACTS = 1_000;
/** Cluster sizes of scale_out (BENCH_SCALE_OUT_WORKERS=1,2 to try fewer). */
const SCALE_OUT_WORKERS = (process.env.BENCH_SCALE_OUT_WORKERS ?? '1,2,4').split(',').map(Number);

type Json = Record<string, any>;

function machine(): Json {
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? 'unknown',
    total_memory_mb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : LARGE ? 'large' : 'full',
  };
}

/** The bench child's dead-letter answer as results fields: grouped reasons, and the first cases with their merges. */
function deadLetters(answer: Json): Json {
  return {
    dead_letter_reasons: answer.reasons,
    ...(answer.cases?.length ? { dead_letter_cases: answer.cases } : {}),
    left_pending: answer.pending,
    tracked_at_destination: answer.tracked,
  };
}

async function sendgridSandbox(): Promise<RunningSandbox> {
  const sg = await startSandbox('sendgrid', 0, SENDGRID_OPTIONS);
  // 600 requests a minute would pace job polling; the bench measures Syncline, not SendGrid's budget.
  await postJson(`${sg.ready.url}/__admin/sendgrid/rate-limit`, { limit: 1_000_000 }, 'PUT');
  return sg;
}

/**
 * Node options of the measured Syncline process, as `npm start` sets them for production: a V8 heap budget and a
 * smaller young generation. Left alone, V8 lets garbage pile up to ~200 MB of heap before collecting it; the live
 * set of a sync stays near 100 MB (pages are streamed, memos are bounded), so a 160 MB budget only makes the
 * collector run earlier. 4 MB semi-spaces (8 MB of young generation instead of V8's 32) keep a 1,000,000-contact
 * sync with the detection thread under 300 MB; against 8 MB ones they cost ~5% of a 100,000 sync's CPU (88 → 92
 * CPU-s, minor GC 4.5 → 5.6 s, one pair of runs) and saved 16 MB of its peak.
 */
const SYNCLINE_NODE_OPTIONS = (
  process.env.BENCH_SYNCLINE_NODE_OPTIONS ?? '--max-old-space-size=160 --max-semi-space-size=4'
)
  .split(' ')
  .filter(Boolean);

async function startSyncline(
  env: Record<string, string>,
  sandboxes: Json,
  profile: boolean,
): Promise<BenchChild> {
  const nodeArgs: string[] = [...SYNCLINE_NODE_OPTIONS];
  if (profile) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', OUT_DIR);
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...runArgs(path.join(ROOT, 'bench', 'syncline-process.ts'))],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, BENCH_SANDBOXES: JSON.stringify(sandboxes) },
    },
  );
  const bc = new BenchChild(child);
  const ready = await bc.next();
  (bc as BenchChild & { url: string }).url = String(ready.url);
  return bc;
}

async function stopSyncline(bc: BenchChild): Promise<number | undefined> {
  try {
    const bye = await bc.request({ cmd: 'exit' });
    await new Promise((r) => (bc.child.exitCode !== null ? r(undefined) : bc.child.once('exit', r)));
    return Number(bye.peak_rss_mb);
  } catch {
    await stopChild(bc.child);
    return undefined;
  }
}

function syncFigures(run: Json): Json {
  if (run.status !== 'succeeded')
    throw new Error(`sync ${run.sync} ${run.status}: ${JSON.stringify(run.errors)}`);
  const records = Number(run.counts.read);
  return {
    records,
    sent: Number(run.counts.sent),
    suppressed: Number(run.counts.suppressed),
    quarantined: Number(run.counts.quarantined),
    // Pushes the vendor refused for good: anything but 0 is a defect to look into (the rows stay in the dead letters).
    dead_lettered: Number(run.counts.deadLettered ?? 0),
    wall_s: run.wall_s,
    cpu_s: run.cpu_s,
    cpu_system_s: run.cpu_system_s,
    // The sync thread's busy time (its event loop not idle): wall time less the waits on vendors and the disk.
    busy_s: run.busy_s,
    records_per_s: Math.round(records / run.wall_s),
    peak_rss_mb: run.peak_rss_mb,
    memory_peaks: run.memory_peaks,
    gc_pauses: run.gc_pauses,
    // Seconds until the last record was read and applied; the rest of wall_s is the push/detection tail.
    read_done_s: run.read_done_s,
    // Where duplicate detection ran (SQLite): the detection thread's plans and failures, long-WAL handbacks.
    detection_thread: run.detection_thread,
    timeline: run.timeline,
  };
}

/** A short-lived connection to the PostgreSQL server (typeorm's driver, the one Syncline uses). */
async function withPg<T>(fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = new DataSource({ type: 'postgres', url: PG_URL, connectTimeoutMS: 3000 });
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

async function pgReachable(): Promise<string | undefined> {
  try {
    await withPg((ds) => ds.query('SELECT 1'));
    return undefined;
  } catch (e) {
    return `PostgreSQL not reachable at ${PG_URL}: ${(e as Error).message}`;
  }
}

const dropSchema = (schema: string) => withPg((ds) => ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));

interface SfContactRow {
  Id: string;
  Email: string | null;
  IsDeleted: boolean;
  HasOptedOutOfEmail: boolean;
  attributes?: { type: string };
}

/** Live Salesforce contacts from the sandbox's admin state (first 10,000 by the sandbox's own order). */
async function sfContacts(sf: RunningSandbox): Promise<SfContactRow[]> {
  const state = await json<{ records: SfContactRow[] }>(`${sf.ready.url}/__admin/state`);
  return state.records.filter((r) => r.attributes?.type === 'Contact' && !r.IsDeleted);
}

async function incremental(
  bc: BenchChild,
  sf: RunningSandbox,
  contacts: SfContactRow[],
  base: number,
): Promise<Json> {
  const rounds: Json[] = [];
  for (let round = 0; round < INCREMENTAL_ROUNDS; round++) {
    const ids = contacts.slice(round * CHANGES, (round + 1) * CHANGES).map((c) => c.Id);
    // One mass edit, as a Data Loader job would do; FirstName flows on to SendGrid.
    await postJson(`${sf.ready.url}/__admin/mass-update`, {
      ids,
      fields: { FirstName: `Benchmarked ${round}` },
    });
    const run: Json = await bc.request({ cmd: 'run', sync: FULL_SYNC_ID });
    if (run.status !== 'succeeded')
      throw new Error(`incremental run ${run.status}: ${JSON.stringify(run.errors)}`);
    rounds.push({
      changes: ids.length,
      read: run.counts.read,
      sent: run.counts.sent,
      // Refused for good in this round (the full sync's own count does not cover the rounds after it).
      dead_lettered: Number(run.counts.deadLettered ?? 0),
      wall_s: run.wall_s,
      busy_s: run.busy_s,
      cpu_s: run.cpu_s,
      mode: run.mode,
    });
  }
  const walls = rounds.map((r) => r.wall_s as number).sort((a, b) => a - b);
  const median = walls[Math.floor(walls.length / 2)];
  const mid = rounds.find((r) => r.wall_s === median)!;
  const busy = rounds.map((r) => r.busy_s as number).sort((a, b) => a - b);
  return {
    changes: CHANGES,
    base,
    read: mid.read,
    sent: mid.sent,
    dead_lettered: rounds.reduce((n, r) => n + (r.dead_lettered as number), 0),
    wall_s: median,
    wall_min_s: walls[0],
    wall_max_s: walls[walls.length - 1],
    // Syncline's own time: the median of the rounds' busy time on the thread running the sync.
    busy_s: busy[Math.floor(busy.length / 2)],
    cpu_s: mid.cpu_s,
    mode: mid.mode,
    rounds,
  };
}

/** Contacts at the SendGrid sandbox: proves the run's wall time covers delivery, whoever drained the outbox. */
async function sendgridCount(sg: RunningSandbox): Promise<number> {
  const r = await json<{ contact_count: number }>(`${sg.ready.url}/v3/marketing/contacts/count`, {
    headers: { authorization: `Bearer ${sg.ready.credentials.apiKey}` },
  });
  return r.contact_count;
}

/**
 * When the count at SendGrid and the count Syncline tracks differ: which ids (SendGrid's contact ids, no personal
 * values), up to 10 each way, so a run that left the destination off can be looked into (BENCH_KEEP_DB=1 keeps
 * the database). Nothing when they agree.
 */
async function destinationCheck(bc: BenchChild, sg: RunningSandbox, full: Json): Promise<void> {
  if (full.at_destination === full.tracked_at_destination) return;
  const tracked = new Set((await bc.request({ cmd: 'tracked' })).ids as string[]);
  const state = await json<{ records: { id: string }[] }>(`${sg.ready.url}/__admin/state`);
  const there = new Set(state.records.map((r) => r.id));
  full.destination_mismatch = {
    tracked_not_at_destination: [...tracked].filter((id) => !there.has(id)).slice(0, 10),
    at_destination_not_tracked: [...there].filter((id) => !tracked.has(id)).slice(0, 10),
  };
  console.error(
    `bench: destination differs from what Syncline tracks: ${JSON.stringify(full.destination_mismatch)}`,
  );
}

/** SendGrid contact by email through the public API (what a user of the destination would see). */
async function sendgridFirstName(sg: RunningSandbox, email: string): Promise<string | undefined> {
  const res = await fetch(`${sg.ready.url}/v3/marketing/contacts/search/emails`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sg.ready.credentials.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ emails: [email] }),
  });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { result: Record<string, { contact?: { first_name?: string } }> };
  return Object.values(body.result)[0]?.contact?.first_name;
}

async function webhookIngest(
  bc: BenchChild & { url?: string },
  sf: RunningSandbox,
  sg: RunningSandbox,
  hs: RunningSandbox,
  candidates: SfContactRow[],
): Promise<Json> {
  const svc = (bc as unknown as { url: string }).url;
  // Salesforce Outbound Messages to Syncline: the e2e probes edit a contact there and watch SendGrid.
  await postJson(
    `${sf.ready.url}/__admin/webhooks`,
    { url: `${svc}/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`, enabled: true },
    'PUT',
  );

  // Probes: subscribed contacts already at SendGrid, so a FirstName edit must reach it.
  const probes: SfContactRow[] = [];
  for (const c of candidates) {
    if (probes.length >= E2E_SAMPLES) break;
    if (
      c.Email &&
      !c.HasOptedOutOfEmail &&
      (await sendgridFirstName(sg, c.Email.trim().toLowerCase())) !== undefined
    )
      probes.push(c);
  }

  // HubSpot deliveries: v3-signed, one event each, each with its own eventId, on existing contacts.
  const hsIds: string[] = [];
  let after: string | undefined;
  while (hsIds.length < HUBSPOT_CONTACTS) {
    const page = await json<{ results: { id: string }[]; paging?: { next?: { after: string } } }>(
      `${hs.ready.credentials.basePath}/crm/v3/objects/contacts?limit=100${after ? `&after=${after}` : ''}`,
      { headers: { authorization: `Bearer ${hs.ready.credentials.accessToken}` } },
    );
    hsIds.push(...page.results.map((r) => r.id));
    after = page.paging?.next?.after;
    if (!after) break;
  }
  const target = `${svc}/webhooks/hubspot`;
  const total = WEBHOOK_RATE * WEBHOOK_SECONDS;
  const warm = WEBHOOK_RATE * WEBHOOK_WARMUP_SECONDS;
  const tag = Date.now();
  // Every delivery its own event (a repeated eventId would be acknowledged as a duplicate, which costs less).
  let next = 0;
  const delivery = (i: number) =>
    JSON.stringify([
      {
        eventId: tag * 100 + i,
        subscriptionId: 1,
        portalId: Number(hs.ready.credentials.portalId ?? 1),
        appId: 1,
        occurredAt: Date.now(),
        subscriptionType: 'contact.propertyChange',
        attemptNumber: 0,
        objectId: Number(hsIds[i % hsIds.length]),
        changeSource: 'CRM',
        propertyName: 'firstname',
        propertyValue: `Hook${i}`,
      },
    ]);
  const secret = hs.ready.credentials.clientSecret;
  const signed = () => {
    const body = delivery(next++);
    const ts = Date.now();
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-v3': signV3(secret, 'POST', target, body, ts),
        'x-hubspot-request-timestamp': String(ts),
      },
    };
  };
  // The process was just started (the benchmark reopens the database as `syncline serve` runs it): its first
  // deliveries run code not yet compiled by V8's optimizing tiers. Measured: steady state, as a service that has
  // been up for a while answers.
  await pacedLoad(target, warm, WEBHOOK_RATE, signed);

  const e2e: number[] = [];
  let e2eTimeouts = 0;
  const probeRuns = probes.map(async (p, k) => {
    // Spread over the load window, so every probe travels through a busy service.
    await sleep(Math.round(((k + 0.5) * WEBHOOK_SECONDS * 1000) / probes.length));
    const email = p.Email!.trim().toLowerCase();
    const name = `Probe${String.fromCharCode(97 + (k % 26))}${tag.toString(36).replace(/\d/g, '')}`;
    const t0 = Date.now();
    await postJson(`${sf.ready.url}/__admin/records/${p.Id}/mutate`, { fields: { FirstName: name } });
    while (Date.now() - t0 < 30_000) {
      if ((await sendgridFirstName(sg, email))?.toLowerCase() === name.toLowerCase())
        return void e2e.push(Date.now() - t0);
      await sleep(20);
    }
    e2eTimeouts++;
  });

  const result = await pacedLoad(target, total, WEBHOOK_RATE, signed);
  await Promise.all(probeRuns);
  const sorted = [...e2e].sort((a, b) => a - b);
  // Then higher rates, acknowledgements only, each after a second of warm-up at its rate.
  const sweep: Json[] = [];
  for (const rate of WEBHOOK_SWEEP) {
    await pacedLoad(target, rate, rate, signed);
    const r = await pacedLoad(target, rate * WEBHOOK_SECONDS, rate, signed);
    sweep.push({
      rate,
      deliveries: r.deliveries,
      achieved_rps: r.achieved_rps,
      non_2xx: r.non_2xx,
      errors: r.errors,
      ack_p50_ms: r.p50,
      ack_p99_ms: r.p99,
      ack_max_ms: r.max,
    });
  }
  return {
    rate: WEBHOOK_RATE,
    deliveries: result.deliveries,
    duration_s: result.duration_s,
    achieved_rps: result.achieved_rps,
    non_2xx: result.non_2xx,
    errors: result.errors,
    ack_p50_ms: result.p50,
    ack_p99_ms: result.p99,
    ack_max_ms: result.max,
    arrivals: result.arrivals,
    e2e_samples: e2e.length,
    e2e_timeouts: e2eTimeouts,
    e2e_p50_ms: percentile(sorted, 50),
    e2e_p95_ms: percentile(sorted, 95),
    e2e_path:
      'Salesforce FirstName edit -> Outbound Message -> Syncline -> SendGrid PUT + import job -> visible via contacts/search/emails',
    ack_at_higher_rates: sweep,
  };
}

/** Streams the offered rate is split over (autocannon instances), and connections per stream. */
const LOAD_STREAMS = 20;
const LOAD_CONNECTIONS = 5;

/**
 * `total` POSTs at `rate` per second, with autocannon. One autocannon instance at a fixed rate sends each of
 * its connections' share of a second back to back at the start of that second (every connection's timer starts at
 * once): at 1,000/s over 100 connections, the whole second's deliveries arrived together, 100 at a time, and the
 * last of each second waited for ~99 before it. Vendors deliver through a handful of connections spread over
 * time, so the rate is split over LOAD_STREAMS instances started 1/LOAD_STREAMS s apart, each with
 * LOAD_CONNECTIONS connections. Latency is each response's own time, from the raw samples: autocannon's
 * histogram adds coordinated-omission samples at an expected interval of ceil(1 / rate-per-connection) = 1 ms,
 * which counts every response over 1 ms again for each millisecond past it.
 */
async function pacedLoad(
  url: string,
  total: number,
  rate: number,
  request: () => { body: string; headers: Record<string, string> },
): Promise<Json> {
  const times: number[] = [];
  const rates: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const started = performance.now();
  const share = (i: number) => Math.floor(total / LOAD_STREAMS) + (i < total % LOAD_STREAMS ? 1 : 0);
  await Promise.all(
    Array.from({ length: LOAD_STREAMS }, async (_, i) => {
      await sleep(Math.round((i * 1000) / LOAD_STREAMS));
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const instance = autocannon(
          {
            url,
            connections: LOAD_CONNECTIONS,
            overallRate: rate / LOAD_STREAMS,
            amount: share(i),
            requests: [{ method: 'POST', setupRequest: (req: any) => ({ ...req, ...request() }) }],
          },
          (err) => (err ? reject(err) : resolve()),
        );
        instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
          times.push(ms);
          if (status < 200 || status > 299) non2xx++;
        });
        instance.on('reqError', () => errors++);
      });
      rates.push(share(i) / ((performance.now() - t0) / 1000));
    }),
  );
  const duration = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    deliveries: times.length,
    duration_s: round(duration, 1),
    // The streams' own rates added up (they start up to a second apart, so deliveries ÷ duration says less).
    achieved_rps: Math.round(rates.reduce((a, b) => a + b, 0)),
    non_2xx: non2xx,
    errors,
    p50: round(percentile(times, 50), 1),
    p99: round(percentile(times, 99), 1),
    max: round(times[times.length - 1] ?? 0, 1),
    arrivals: `${LOAD_STREAMS} autocannon streams of ${rate / LOAD_STREAMS}/s, started ${1000 / LOAD_STREAMS} ms apart, ${LOAD_CONNECTIONS} connections each, after ${WEBHOOK_WARMUP_SECONDS} s of warm-up at the same rate; latency from raw response times`,
  };
}

async function baseline(sf: RunningSandbox): Promise<Json> {
  const sg = await sendgridSandbox();
  try {
    const child = spawn(
      process.execPath,
      [
        ...runArgs(path.join(ROOT, 'bench', 'baseline.ts')),
        JSON.stringify(sf.ready),
        JSON.stringify(sg.ready),
      ],
      { cwd: ROOT },
    );
    const out = await new BenchChild(child).next();
    return { wall_s: out.wall_s, read: out.read, sent: out.sent, peak_rss_mb: out.peak_rss_mb };
  } finally {
    await stopChild(sg.child);
  }
}

async function redisReachable(): Promise<string | undefined> {
  const { default: IORedis } = await import('ioredis');
  const r = new IORedis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return `Redis not reachable at ${REDIS_URL}: ${(e as Error).message}`;
  } finally {
    r.disconnect();
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const t0 = Date.now();
  const results: Json = { machine: { ...machine(), syncline_node_options: SYNCLINE_NODE_OPTIONS.join(' ') } };
  const rows: Json[] = [];
  const note = (scenario: string, figures: string) => {
    rows.push({ scenario, figures });
    console.error(`bench: ${scenario}: ${figures} (+${round((Date.now() - t0) / 1000, 1)} s)`);
  };

  if (!argv.includes('--ts')) {
    console.error('bench: compiling (npm run build) so every process runs as `npm start` would…');
    buildForBench();
  }
  console.error(`bench: seeding Salesforce with ${FULL_COUNT} contacts…`);
  const sf = await startSandbox('salesforce', FULL_COUNT, undefined, SF_SEED);
  const live: SfContactRow[] = wants('incremental') || wants('webhook_ingest') ? await sfContacts(sf) : [];
  try {
    // SQLite: full sync, then the incremental and webhook scenarios on the same base (`--only=full_sync_sqlite`:
    // the full sync alone).
    if (
      wants('full_sync') ||
      wants('incremental') ||
      wants('webhook_ingest') ||
      ONLY.includes('full_sync_sqlite')
    ) {
      const sg = await sendgridSandbox();
      const hs = wants('webhook_ingest')
        ? await startSandbox('hubspot', HUBSPOT_CONTACTS, { rateLimit: { max: 0 } }, 7)
        : undefined;
      const dir = fs.mkdtempSync(path.join(OUT_DIR, 'sqlite-'));
      const sandboxes = { salesforce: sf.ready, sendgrid: sg.ready, ...(hs ? { hubspot: hs.ready } : {}) };
      const DATABASE_URL = `sqlite:${path.join(dir, 'bench.sqlite')}`;
      let bc = await startSyncline({ DATABASE_URL }, sandboxes, PROFILE);
      let bcIsService = false;
      try {
        console.error('bench: full_sync (sqlite)…');
        const full = syncFigures(await bc.request({ cmd: 'run', sync: FULL_SYNC_ID }));
        full.at_destination = await sendgridCount(sg);
        Object.assign(full, deadLetters(await bc.request({ cmd: 'dead_letters' })));
        await destinationCheck(bc, sg, full);
        full.detection = await detectionQualityOf(DATABASE_URL, undefined, FULL_COUNT, SF_SEED);
        results.full_sync = { sqlite: full };
        console.error(
          `bench: full_sync sqlite timeline (t_s read sent awaiting_detection awaiting_push): ${(full.timeline as Json[]).map((x) => `${x.t_s} ${x.read} ${x.sent} ${x.awaiting_detection ?? '-'} ${x.awaiting_push ?? '-'}`).join(' | ')}`,
        );
        note(
          'full_sync sqlite',
          `${full.records} records (${full.at_destination} at SendGrid), ${full.wall_s} s (read and applied by ${full.read_done_s} s, ${full.cpu_s} CPU-s, ${full.cpu_system_s} of them system), ${full.records_per_s}/s, peak RSS ${full.peak_rss_mb} MB, GC ${JSON.stringify(full.gc_pauses)}, duplicates: precision ${full.detection.precision} recall ${full.detection.recall}, detection thread ${JSON.stringify(full.detection_thread)}`,
        );
        if (wants('incremental') && !PROFILE) {
          console.error('bench: incremental…');
          const inc = await incremental(bc, sf, live, full.records);
          results.incremental = inc;
          note(
            'incremental',
            `${inc.changes} changes in ${inc.base}: median ${inc.wall_s} s wall, ${inc.busy_s} s busy, of ${INCREMENTAL_ROUNDS} rounds (${(inc.rounds as Json[]).map((r) => `${r.wall_s}/${r.busy_s}`).join(', ')})`,
          );
        }
        if (wants('webhook_ingest') && hs && !PROFILE) {
          // As `syncline serve` runs on a SQLite file: the engine on its own thread, the service thread answering
          // deliveries. The same database, reopened by a new process.
          const peak = await stopSyncline(bc);
          if (results.full_sync?.sqlite && peak) results.full_sync.sqlite.process_peak_rss_mb = peak;
          bc = await startSyncline({ DATABASE_URL, SYNCLINE_ENGINE_THREAD: 'on' }, sandboxes, PROFILE);
          bcIsService = true;
          console.error('bench: webhook_ingest…');
          const wh = await webhookIngest(bc, sf, sg, hs, live.slice(INCREMENTAL_ROUNDS * CHANGES));
          results.webhook_ingest = wh;
          note(
            'webhook_ingest',
            `${wh.deliveries} at ${wh.rate}/s: ack p50 ${wh.ack_p50_ms} ms p99 ${wh.ack_p99_ms} ms; e2e p50 ${wh.e2e_p50_ms} ms p95 ${wh.e2e_p95_ms} ms (${wh.e2e_samples} samples, ${wh.e2e_timeouts} timeouts)${(wh.ack_at_higher_rates as Json[]).map((h) => `; at ${h.rate}/s offered (${h.achieved_rps} achieved, ${h.non_2xx} non-2xx): ack p50 ${h.ack_p50_ms} ms p99 ${h.ack_p99_ms} ms`).join('')}`,
          );
        }
      } finally {
        const peak = await stopSyncline(bc);
        if (bcIsService && results.webhook_ingest && peak) results.webhook_ingest.process_peak_rss_mb = peak;
        else if (results.full_sync?.sqlite && peak) results.full_sync.sqlite.process_peak_rss_mb = peak;
        await stopChild(sg.child);
        if (hs) await stopChild(hs.child);
        // BENCH_KEEP_DB=1 keeps the SQLite database for inspection (a 1,000,000 run's is ~8 GB).
        if (!process.env.BENCH_KEEP_DB) fs.rmSync(dir, { recursive: true, force: true });
        else console.error(`bench: kept the SQLite database in ${dir}`);
      }
    }

    // The incremental and webhook scenarios edited Salesforce (first names of thousands of contacts): the syncs
    // below must read the same seeded people as the SQLite full sync, or their duplicate detection (and the
    // contacts that reach SendGrid) differ from it for that reason alone.
    if ((wants('incremental') || wants('webhook_ingest')) && (wants('full_sync') || wants('scale_out'))) {
      console.error('bench: seeding Salesforce again (the scenarios above edited it)…');
      await postJson(`${sf.ready.url}/__admin/seed`, { count: FULL_COUNT, seed: SF_SEED });
    }

    // `--only=full_sync_postgres`: this one alone (with `--profile`, its Syncline process is profiled).
    const pgProfile = PROFILE && ONLY.includes('full_sync_postgres');
    if ((wants('full_sync') || ONLY.includes('full_sync_postgres')) && (!PROFILE || pgProfile)) {
      results.full_sync ??= {};
      const unreachable = await pgReachable();
      if (unreachable) results.full_sync.postgres = { skipped: unreachable };
      else {
        console.error('bench: full_sync (postgres)…');
        const schema = `bench_${Date.now().toString(36)}`;
        const sg = await sendgridSandbox();
        const bc = await startSyncline(
          { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema },
          { salesforce: sf.ready, sendgrid: sg.ready },
          pgProfile,
        );
        try {
          const full = syncFigures(await bc.request({ cmd: 'run', sync: FULL_SYNC_ID }));
          full.at_destination = await sendgridCount(sg);
          Object.assign(full, deadLetters(await bc.request({ cmd: 'dead_letters' })));
          await destinationCheck(bc, sg, full);
          full.detection = await detectionQualityOf(PG_URL, schema, FULL_COUNT, SF_SEED);
          results.full_sync.postgres = full;
          note(
            'full_sync postgres',
            `${full.records} records (${full.at_destination} at SendGrid, ${full.tracked_at_destination} tracked, left pending ${JSON.stringify(full.left_pending)}), ${full.wall_s} s (read and applied by ${full.read_done_s} s, ${full.cpu_s} CPU-s, ${full.cpu_system_s} of them system), ${full.records_per_s}/s, peak RSS ${full.peak_rss_mb} MB, GC ${JSON.stringify(full.gc_pauses)}, duplicates: precision ${full.detection.precision} recall ${full.detection.recall}, detection thread ${JSON.stringify(full.detection_thread)}`,
          );
        } catch (e) {
          // A failed run is a finding, not a reason to lose the other scenarios' figures.
          results.full_sync.postgres = { error: (e as Error).message.split('\n')[0] };
          note('full_sync postgres', `FAILED: ${results.full_sync.postgres.error}`);
        } finally {
          await stopSyncline(bc);
          await stopChild(sg.child);
          // BENCH_KEEP_DB=1 keeps the schema for inspection.
          if (!process.env.BENCH_KEEP_DB) await dropSchema(schema).catch(() => undefined);
          else console.error(`bench: kept the PostgreSQL schema ${schema}`);
        }
      }
    }

    if (wants('baseline') && !PROFILE) {
      console.error('bench: baseline…');
      const b = await baseline(sf);
      results.baseline = b;
      note('baseline', `${b.read} read, ${b.sent} sent, ${b.wall_s} s`);
      const sqliteWall = results.full_sync?.sqlite?.wall_s;
      if (sqliteWall) {
        results.full_sync_vs_baseline = round(sqliteWall / Number(b.wall_s), 2);
        note('full_sync_vs_baseline', `${results.full_sync_vs_baseline}×`);
      }
    }

    if (wants('scale_out') && !PROFILE) {
      const unreachable = (await pgReachable()) ?? (await redisReachable());
      if (unreachable) {
        results.scale_out = { skipped: unreachable };
        note('scale_out', `skipped: ${unreachable}`);
      } else {
        console.error('bench: scale_out (1, 2, 4 workers on PostgreSQL + Redis)…');
        const so: Json = await scaleOut({
          pgUrl: PG_URL,
          redisUrl: REDIS_URL,
          salesforce: sf,
          sendgrid: sendgridSandbox,
          stopSandbox: (s) => stopChild(s.child),
          workers: SCALE_OUT_WORKERS,
          pageSize: QUICK ? 500 : 2000,
          detection: async (schema) => ({
            ...(await detectionQualityOf(PG_URL, schema, FULL_COUNT, SF_SEED)),
          }),
        }).catch((e: Error) => ({ error: e.message }));
        so.mode = results.machine.mode;
        results.scale_out = so;
        if (so.error) note('scale_out', `failed: ${so.error}`);
        else
          note(
            'scale_out',
            SCALE_OUT_WORKERS.map(
              (n) => `${n}: ${so[String(n)]?.records_per_s ?? so[String(n)]?.error}/s`,
            ).join(', ') +
              ` (speedup ${JSON.stringify(so.speedup)}; cores busy ${SCALE_OUT_WORKERS.map((n) => so[String(n)]?.cores_busy).join('/')}, CPU-bound ceiling ${so.cpu_bound_speedup_ceiling}×)`,
          );
      }
    }
  } finally {
    await stopChild(sf.child);
  }

  results.machine.bench_wall_s = round((Date.now() - t0) / 1000, 1);
  if (PROFILE) {
    const prof = fs
      .readdirSync(OUT_DIR)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .pop();
    console.log(
      `profile: ${prof ? path.join('bench/out', prof) : 'none written'} (summarize: ts-node -T bench/profile-summary.ts <file>)`,
    );
  } else mergeResults(results, LARGE ? RESULTS_LARGE : RESULTS);
  console.table(rows);
  console.log(
    `bench: done in ${results.machine.bench_wall_s} s${
      PROFILE ? '' : `; wrote ${path.relative(process.cwd(), LARGE ? RESULTS_LARGE : RESULTS)}`
    }`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
