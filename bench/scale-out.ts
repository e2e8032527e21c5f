// The scale_out scenario of `npm run bench`: one full sync (Salesforce sandbox -> canonical -> SendGrid sandbox) on
// PostgreSQL + Redis with 1, 2 and 4 `syncline worker` processes (compiled, as deployed). One worker reads the
// source and hands pages out; every worker applies pages, detects duplicates and the run's reader pushes. Reports
// records/s per cluster size and how CPU time split between workers, Redis, PostgreSQL and the sandboxes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import {
  cpuTicks,
  groupCpuTicks,
  OUT_DIR,
  ROOT,
  round,
  runArgs,
  sleep,
  type RunningSandbox,
  type SandboxReady,
} from './lib';
import { benchConfig, FULL_SYNC_ID } from './syncline-process';

type Json = Record<string, any>;

const TICKS_PER_S = 100;
/** Sampling interval of a cluster run's timeline. */
const TIMELINE_EVERY_MS = 10_000;

/** Pids of every process whose command name is `name` (postgres backends, redis-server). */
function pidsOf(name: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const cpuOf = groupCpuTicks;

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  // BENCH_WORKER_NODE_ARGS: node options for every worker (`--cpu-prof --cpu-prof-dir=…` profiles them).
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...runArgs(path.join(ROOT, 'scripts', 'worker.ts'))], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      if (process.env.BENCH_WORKER_TRACE) fs.appendFileSync(process.env.BENCH_WORKER_TRACE, d);
      output = (output + d.toString()).slice(-4000);
      if (output.includes(' ready: queue ')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${output}`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

export interface ScaleOutOptions {
  pgUrl: string;
  redisUrl: string;
  salesforce: RunningSandbox;
  /** Starts a fresh SendGrid sandbox for each cluster size. */
  sendgrid: () => Promise<RunningSandbox>;
  stopSandbox: (s: RunningSandbox) => Promise<void>;
  workers: number[];
  pageSize: number;
  /** Measures duplicate detection on a cluster's schema once its run is done. */
  detection?: (schema: string) => Promise<Json>;
}

export async function scaleOut(o: ScaleOutOptions): Promise<Json> {
  const out: Json = { page_size: o.pageSize, database: 'postgres', queue: 'bullmq' };
  for (const n of o.workers) {
    const tag = `${Date.now().toString(36)}_${n}`;
    const schema = `bench_so_${tag}`;
    const prefix = `bench-so-${tag}`;
    const sg = await o.sendgrid();
    const config = benchConfig({ salesforce: o.salesforce.ready, sendgrid: sg.ready as SandboxReady });
    config.syncs[0].source.pageSize = o.pageSize;
    const file = path.join(OUT_DIR, `scale-out-${tag}.yaml`);
    fs.writeFileSync(file, JSON.stringify(config));
    const env = {
      DATABASE_URL: o.pgUrl,
      DATABASE_SCHEMA: schema,
      REDIS_URL: o.redisUrl,
      QUEUE_PREFIX: prefix,
      SYNCLINE_CONFIG: file,
      LOG_LEVEL: process.env.BENCH_WORKER_LOG ?? 'warn',
      NODE_OPTIONS: '--max-old-space-size=160 --max-semi-space-size=8',
    };
    const ds = new DataSource({ type: 'postgres', url: o.pgUrl });
    await ds.initialize();
    const workers: ChildProcess[] = [];
    const queue = new Queue('sync-run', { connection: { url: o.redisUrl }, prefix });
    try {
      // One at a time: the first migrates the schema.
      for (let i = 0; i < n; i++) workers.push(await startWorker(env));
      const groups = {
        workers: () => workers.map((w) => w.pid!),
        redis: () => pidsOf('redis-server'),
        postgres: () => pidsOf('postgres'),
        sandboxes: () => [o.salesforce.child.pid!, sg.child.pid!],
      };
      const before = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, cpuOf(f())]));
      const perWorkerBefore = workers.map((w) => cpuTicks(w.pid!));
      const t0 = Date.now();
      await queue.add('sync-run', { syncId: FULL_SYNC_ID, trigger: 'manual' }, { removeOnComplete: true });
      let run: Json | undefined;
      // Where the run waits: pages read / applied, customers awaiting detection, rows awaiting push, and the CPU
      // each group used since the previous sample (seconds of CPU per second: 2 = both cores).
      const timeline: Json[] = [];
      let lastSample = { t: t0, cpu: before };
      const sample = async () => {
        const now = Date.now();
        const [c] = await ds.query(
          `SELECT (SELECT COUNT(*) FROM "${schema}".run_pages) AS pages,
                  (SELECT COUNT(*) FROM "${schema}".run_pages WHERE applied_at IS NOT NULL) AS applied,
                  (SELECT COUNT(*) FROM "${schema}".identity_pending) AS awaiting_detection,
                  (SELECT COUNT(*) FROM "${schema}".outbox WHERE status = 'pending') AS awaiting_push,
                  (SELECT COUNT(*) FROM "${schema}".outbox WHERE status = 'sent') AS sent`,
        );
        const cpu = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, cpuOf(f())]));
        const dt = (now - lastSample.t) / 1000;
        timeline.push({
          t_s: round((now - t0) / 1000, 1),
          ...Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Number(v)])),
          cores: Object.fromEntries(
            Object.keys(groups).map((k) => [k, round((cpu[k] - lastSample.cpu[k]) / TICKS_PER_S / dt, 2)]),
          ),
        });
        lastSample = { t: now, cpu };
      };
      let nextSample = t0 + TIMELINE_EVERY_MS;
      // What the database sessions wait for, polled with the run's status: lock waits by kind (advisory: the
      // duplicate-detection turn; transactionid / tuple: row locks), as session-seconds.
      const waits: Record<string, number> = {};
      /** The same by the waiting statement (its first 70 characters). */
      const waitsBy: Record<string, number> = {};
      const POLL_S = 0.2;
      while (Date.now() - t0 < 30 * 60_000) {
        for (const w of await ds.query(
          `SELECT wait_event_type || ':' || wait_event AS w, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q,
                  COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' GROUP BY 1, 2`,
        )) {
          waits[w.w] = (waits[w.w] ?? 0) + Number(w.n) * POLL_S;
          waitsBy[`${w.w} ${w.q}`] = (waitsBy[`${w.w} ${w.q}`] ?? 0) + Number(w.n) * POLL_S;
        }
        if (Date.now() >= nextSample) {
          nextSample += TIMELINE_EVERY_MS;
          await sample().catch(() => undefined);
        }
        const [r] = await ds.query(
          `SELECT status, started_at, finished_at, counts, errors FROM "${schema}".sync_runs WHERE sync_id = $1 AND finished_at IS NOT NULL`,
          [FULL_SYNC_ID],
        );
        if (r) {
          run = r;
          break;
        }
        await sleep(200);
      }
      if (!run) throw new Error(`scale_out with ${n} worker(s): the run did not finish`);
      if (run.status !== 'succeeded')
        throw new Error(`scale_out with ${n} worker(s): run ${run.status} ${run.errors}`);
      const after = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, cpuOf(f())]));
      const counts = JSON.parse(run.counts);
      const wall = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
      const pages = await ds.query(
        `SELECT applied_by, COUNT(*) AS n FROM "${schema}".run_pages GROUP BY applied_by ORDER BY applied_by`,
      );
      const cpu = Object.fromEntries(
        Object.keys(groups).map((k) => [k, round((after[k] - before[k]) / TICKS_PER_S, 1)]),
      );
      // What the run could not deliver, and what it left to retry when it ended (as the full syncs report).
      const outbox = async (status: string) =>
        (
          await ds.query(
            `SELECT op, last_error, COUNT(*) AS n FROM "${schema}".outbox WHERE status = $1 GROUP BY op, last_error ORDER BY n DESC LIMIT 10`,
            [status],
          )
        ).map((r: Json) => ({ op: r.op, error: r.last_error, n: Number(r.n) }));
      const dead = await outbox('dead');
      out[String(n)] = {
        records: counts.read,
        sent: counts.sent,
        dead_lettered: dead.reduce((a: number, r: Json) => a + r.n, 0),
        dead_letter_reasons: dead,
        left_pending: await outbox('pending'),
        // Duplicate detection against the seeded people: whether more workers merge other pairs.
        detection: o.detection ? await o.detection(schema) : undefined,
        wall_s: round(wall, 2),
        records_per_s: Math.round(counts.read / wall),
        pages_per_worker: pages.map((p: Json) => Number(p.n)),
        cpu_s: cpu,
        // Cores the whole cluster kept busy on average (workers, PostgreSQL, Redis, sandboxes).
        cores_busy: round(Object.values(cpu).reduce((a, b) => a + b, 0) / wall, 2),
        cpu_s_per_worker: workers.map((w, i) =>
          round((cpuTicks(w.pid!) - perWorkerBefore[i]) / TICKS_PER_S, 1),
        ),
        lock_wait_session_s: Object.fromEntries(Object.entries(waits).map(([k, v]) => [k, round(v, 1)])),
        lock_waits_by_statement: Object.fromEntries(
          Object.entries(waitsBy)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 8)
            .map(([k, v]) => [k, round(v, 1)]),
        ),
        timeline,
      };
    } catch (e) {
      // One cluster size failing (its run failed) is reported, and the other sizes are still measured.
      out[String(n)] = { error: (e as Error).message };
    } finally {
      await queue.close();
      await Promise.all(workers.map(stopWorker));
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await ds.destroy();
      await o.stopSandbox(sg);
      fs.rmSync(file, { force: true });
    }
  }
  const base = out['1']?.records_per_s;
  if (base)
    out.speedup = Object.fromEntries(
      o.workers.map((n) => [String(n), round((out[String(n)]?.records_per_s ?? 0) / base, 2)]),
    );
  // What CPU alone allows: one worker's cluster keeps `cores_busy` cores busy, and the machine has os.cpus() of them.
  if (out['1']?.cores_busy) out.cpu_bound_speedup_ceiling = round(os.cpus().length / out['1'].cores_busy, 2);
  return out;
}
