// The measured Syncline process of `npm run bench`: boots the service (HTTP included, for webhooks) with the
// DATABASE_URL / DATABASE_SCHEMA it is given and a syncline config pointing at the sandboxes in BENCH_SANDBOXES,
// then answers JSON-line requests on stdin (`run`, `stats`, `exit`) with figures on stdout, each carrying this
// process's own peak RSS. Kept apart from the runner so its RSS and CPU profile are Syncline's alone.
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { constants as perfConstants, performance, PerformanceObserver } from 'node:perf_hooks';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../src/bootstrap';
import { AppConfig } from '../src/config/app-config';
import { parseEnv } from '../src/config/env.schema';
import { synclineConfigSchema } from '../src/config/syncline-config.schema';
import { DuplicateDetector } from '../src/identity/duplicate-detector.service';
import { Database } from '../src/store/database';
import { SyncRunner } from '../src/sync/sync-runner.service';
import { RunTrigger } from '../src/sync/sync.types';
import {
  emit,
  OUT_DIR,
  peakRssMb,
  round,
  serveRequests,
  sqlStatsRows,
  traceSql,
  type SandboxReady,
} from './lib';

export const SF_WEBHOOK_SECRET = 'bench-outbound-message-secret';
export const FULL_SYNC_ID = 'bench-sf-sg';
export const HUBSPOT_SYNC_ID = 'bench-hs';

interface Sandboxes {
  salesforce: SandboxReady;
  sendgrid: SandboxReady;
  hubspot?: SandboxReady;
}

/** Salesforce Contact -> canonical -> SendGrid only (plus a HubSpot-sourced sync when HubSpot is given). */
export function benchConfig(sb: Sandboxes) {
  const sf = sb.salesforce.credentials;
  const connections: unknown[] = [
    {
      id: 'salesforce',
      connector: 'salesforce',
      baseUrl: sb.salesforce.url,
      credentials: {
        instanceUrl: sf.instanceUrl,
        accessToken: sf.accessToken,
        clientId: sf.clientId,
        clientSecret: sf.clientSecret,
        refreshToken: sf.refreshToken,
      },
      settings: { organizationId: sf.organizationId, webhookSecret: SF_WEBHOOK_SECRET },
    },
    {
      id: 'sendgrid',
      connector: 'sendgrid',
      baseUrl: sb.sendgrid.url,
      credentials: {
        apiKey: sb.sendgrid.credentials.apiKey,
        webhookPublicKey: sb.sendgrid.credentials.webhookPublicKey,
      },
      // Same job poll interval as the baseline script, so neither waits on SendGrid's jobs longer than the other.
      settings: { createCustomFields: true, jobPollIntervalMs: 20 },
    },
  ];
  const syncs: unknown[] = [
    {
      id: FULL_SYNC_ID,
      source: {
        connection: 'salesforce',
        object: 'Contact',
        // Experiments only (BENCH_PAGE_SIZE): the reported runs use the connector's default page.
        ...(process.env.BENCH_PAGE_SIZE ? { pageSize: Number(process.env.BENCH_PAGE_SIZE) } : {}),
      },
      destinations: [{ connection: 'sendgrid', object: 'contacts' }],
    },
  ];
  if (sb.hubspot) {
    connections.push({
      id: 'hubspot',
      connector: 'hubspot',
      baseUrl: sb.hubspot.url,
      credentials: {
        accessToken: sb.hubspot.credentials.accessToken,
        clientSecret: sb.hubspot.credentials.clientSecret,
      },
      settings: {},
    });
    // HubSpot webhook deliveries go through the inbound path of a HubSpot-sourced sync (no destination needed).
    syncs.push({
      id: HUBSPOT_SYNC_ID,
      source: { connection: 'hubspot', object: 'contacts' },
      destinations: [],
    });
  }
  return synclineConfigSchema.parse({ connections, syncs });
}

/**
 * The first dead letters with their merge context (internal ids, statuses and counts only; no personal values):
 * what a dead-lettered push's customer merged, two levels down, and what each of those left at the destination.
 */
async function deadLetterCases(db: Database): Promise<unknown[]> {
  const dead = await db.query<{
    connection: string;
    object: string;
    customer_id: string;
    op: string;
    attempts: number;
  }>(
    "SELECT connection, object, customer_id, op, attempts FROM outbox WHERE status = 'dead' ORDER BY id LIMIT 10",
  );
  const out: unknown[] = [];
  for (const d of dead) {
    const at = async (id: string) => {
      const [state] = await db.query<{ external_id: string | null }>(
        'SELECT external_id FROM destination_state WHERE connection = ? AND object = ? AND customer_id = ?',
        [d.connection, d.object, id],
      );
      const rows = await db.query<{ op: string; status: string }>(
        'SELECT op, status FROM outbox WHERE connection = ? AND object = ? AND customer_id = ?',
        [d.connection, d.object, id],
      );
      const [c] = await db.query<{ version: number; merged_into: string | null }>(
        'SELECT version, merged_into FROM customers WHERE id = ?',
        [id],
      );
      return {
        id,
        version: c?.version,
        merged_into: c?.merged_into ?? null,
        at_destination: !!state?.external_id,
        outbox: rows,
      };
    };
    const losersOf = async (id: string) =>
      (await db.query<{ id: string }>('SELECT id FROM customers WHERE merged_into = ?', [id])).map(
        (r) => r.id,
      );
    const losers = [];
    for (const l of await losersOf(d.customer_id))
      losers.push({ ...(await at(l)), losers: await Promise.all((await losersOf(l)).map(at)) });
    const outcomes = await db.query<{ action: string; direction: string; at: string }>(
      'SELECT action, direction, at FROM record_outcomes WHERE connection = ? AND customer_id = ? ORDER BY id',
      [d.connection, d.customer_id],
    );
    out.push({ ...(await at(d.customer_id)), op: d.op, attempts: d.attempts, losers, outcomes });
  }
  return out;
}

/** Diagnostic (BENCH_SQL_STATS=1): time per SQL statement shape, written to bench/out/sql-stats.json at exit. */
function writeSqlStats(): void {
  const rows = sqlStatsRows();
  if (rows.length)
    fs.writeFileSync(path.join(OUT_DIR, 'sql-stats.json'), `${JSON.stringify(rows, null, 2)}\n`);
}

/** Sampling interval of a run's read/sent timeline. */
const TIMELINE_EVERY_MS = 5_000;

async function main(): Promise<void> {
  if (process.env.BENCH_SQL_STATS) traceSql();
  const sandboxes = JSON.parse(process.env.BENCH_SANDBOXES ?? '') as Sandboxes;
  const env = parseEnv({
    // Pino logs to stdout; errors only, so the protocol lines are not drowned.
    LOG_LEVEL: 'error',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.DATABASE_URL,
    ...(process.env.DATABASE_SCHEMA ? { DATABASE_SCHEMA: process.env.DATABASE_SCHEMA } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    // `on` for the webhook scenario: the service as `syncline serve` runs it on a SQLite file.
    ...(process.env.SYNCLINE_ENGINE_THREAD
      ? { SYNCLINE_ENGINE_THREAD: process.env.SYNCLINE_ENGINE_THREAD }
      : {}),
    // Experiments only: what a run costs without duplicate detection (`off`), or with merges left for review.
    ...(process.env.SYNCLINE_IDENTITY_MODE
      ? { SYNCLINE_IDENTITY_MODE: process.env.SYNCLINE_IDENTITY_MODE }
      : {}),
    // A/B runs of duplicate detection on its own thread or on the engine's.
    ...(process.env.SYNCLINE_DETECTION_THREAD
      ? { SYNCLINE_DETECTION_THREAD: process.env.SYNCLINE_DETECTION_THREAD }
      : {}),
    // A/B runs of outbound batches in flight per drainer.
    ...(process.env.OUTBOX_PUSH_CONCURRENCY
      ? { OUTBOX_PUSH_CONCURRENCY: process.env.OUTBOX_PUSH_CONCURRENCY }
      : {}),
  });
  const t0 = Date.now();
  const app: NestExpressApplication = await createApp(new AppConfig(env, benchConfig(sandboxes)));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  emit({
    ready: true,
    url: `http://127.0.0.1:${port}`,
    pid: process.pid,
    boot_s: round((Date.now() - t0) / 1000),
  });

  serveRequests(async (m) => {
    switch (m.cmd) {
      case 'run': {
        const syncId = String(m.sync ?? FULL_SYNC_ID);
        // Where the memory is at its peak: V8 heap vs native (SQLite page cache, buffers, code).
        const atStart = process.memoryUsage();
        const peak = {
          rss_at_start_mb: Math.round(atStart.rss / 2 ** 20),
          heap_used_at_start_mb: Math.round(atStart.heapUsed / 2 ** 20),
          heap_used_mb: 0,
          heap_total_mb: 0,
          external_mb: 0,
          // V8's spaces at their largest (committed): young generation vs old, code, large objects.
          spaces_mb: {} as Record<string, number>,
        };
        const sample = setInterval(() => {
          const u = process.memoryUsage();
          peak.heap_used_mb = Math.max(peak.heap_used_mb, Math.round(u.heapUsed / 2 ** 20));
          peak.heap_total_mb = Math.max(peak.heap_total_mb, Math.round(u.heapTotal / 2 ** 20));
          peak.external_mb = Math.max(peak.external_mb, Math.round(u.external / 2 ** 20));
          for (const sp of v8.getHeapSpaceStatistics()) {
            const mb = Math.round(sp.space_size / 2 ** 20);
            peak.spaces_mb[sp.space_name] = Math.max(peak.spaces_mb[sp.space_name] ?? 0, mb);
          }
        }, 100);
        // Time the main thread spent paused in garbage collection during the run, by kind (V8's 'gc' entries).
        const gc = { minor_s: 0, major_s: 0, incremental_s: 0, minor_count: 0, major_count: 0 };
        const gcObserver = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            const kind = (e as { detail?: { kind?: number } }).detail?.kind;
            const s = e.duration / 1000;
            if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
              gc.minor_s += s;
              gc.minor_count++;
            } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
              gc.major_s += s;
              gc.major_count++;
            } else gc.incremental_s += s;
          }
        });
        gcObserver.observe({ entryTypes: ['gc'] });
        const started = process.hrtime.bigint();
        // CPU the Syncline process used during the run (every thread): on this shared 2-core VM wall times drift
        // with the neighbours, CPU-seconds less so.
        const cpuAtStart = process.cpuUsage();
        const detector = app.get(DuplicateDetector);
        const detectionAtStart = {
          plans: detector.threadPlans,
          failures: detector.threadFailures.length,
          handbacks: detector.walHandbacks,
        };
        // Time the event loop (the thread running the sync) was busy rather than waiting, on vendors mostly.
        const eluAtStart = performance.eventLoopUtilization();
        // Where a run spends its wall time: records read and applied vs records sent, sampled over the run.
        const seen = { read: 0, sent: 0 };
        const elapsed = () => round(Number(process.hrtime.bigint() - started) / 1e9, 1);
        const timeline: {
          t_s: number;
          read: number;
          sent: number;
          awaiting_detection?: number;
          awaiting_push?: number;
        }[] = [];
        const db = app.get(Database);
        const count = async (sql: string) => Number((await db.query(sql))[0].n);
        const tick = setInterval(() => {
          const point = { t_s: elapsed(), ...seen };
          timeline.push(point);
          // Backlogs behind the read: customers not yet checked for duplicates, rows not yet pushed.
          void Promise.all([
            count('SELECT COUNT(*) AS n FROM identity_pending'),
            count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'"),
          ])
            .then(([d, p]) => Object.assign(point, { awaiting_detection: d, awaiting_push: p }))
            .catch(() => undefined);
        }, TIMELINE_EVERY_MS);
        const heapAt = Number(process.env.BENCH_HEAP_SNAPSHOT_AT ?? 0);
        let snapshotTaken = false;
        const run = await app.get(SyncRunner).run(syncId, {
          trigger: RunTrigger.Manual,
          onProgress: (p) => {
            // Diagnostics: BENCH_HEAP_SNAPSHOT_AT=<records read> writes one heap snapshot to the temp folder then.
            if (heapAt && !snapshotTaken && p.counts.read >= heapAt) {
              snapshotTaken = true;
              console.error(
                `bench: heap snapshot ${v8.writeHeapSnapshot(path.join(os.tmpdir(), `syncline-heap-${process.pid}.heapsnapshot`))}`,
              );
            }
            if (p.phase === 'inbound') seen.read = p.counts.read;
            else seen.sent = p.counts.sent + p.counts.suppressed + p.counts.unchanged;
          },
        });
        const wallS = Number(process.hrtime.bigint() - started) / 1e9;
        // Where duplicate detection ran: plans of the detection thread, the thread's failures (it then detects on
        // the engine's thread), batches handed back to the engine for a long WAL.
        const detection = {
          thread_plans: detector.threadPlans - detectionAtStart.plans,
          thread_failures: detector.threadFailures.slice(detectionAtStart.failures),
          wal_handbacks: detector.walHandbacks - detectionAtStart.handbacks,
        };
        const cpu = process.cpuUsage(cpuAtStart);
        const elu = performance.eventLoopUtilization(eluAtStart);
        gcObserver.disconnect();
        clearInterval(sample);
        clearInterval(tick);
        timeline.push({ t_s: elapsed(), ...seen });
        // The read is done when the last record was read; what follows is the push and detection tail.
        const readDone = timeline.find((x) => x.read >= seen.read)?.t_s ?? null;
        return {
          sync: syncId,
          status: run.status,
          mode: run.mode,
          counts: run.counts,
          errors: run.errors,
          wall_s: round(wallS, 3),
          cpu_s: round((cpu.user + cpu.system) / 1e6, 1),
          cpu_system_s: round(cpu.system / 1e6, 1),
          busy_s: round(elu.active / 1000, 3),
          peak_rss_mb: peakRssMb(),
          memory_peaks: peak,
          gc_pauses: {
            minor_s: round(gc.minor_s, 2),
            major_s: round(gc.major_s, 2),
            incremental_s: round(gc.incremental_s, 2),
            minor_count: gc.minor_count,
            major_count: gc.major_count,
          },
          read_done_s: readDone,
          detection_thread: detection,
          timeline,
        };
      }
      case 'stats':
        return { peak_rss_mb: peakRssMb() };
      case 'dead_letters':
        // Why pushes were refused for good, grouped (stored error texts are masked: no personal values).
        return {
          reasons: (
            await app
              .get(Database)
              .query<{ connection: string; op: string; last_error: string | null; n: number }>(
                "SELECT connection, op, last_error, COUNT(*) AS n FROM outbox WHERE status = 'dead' GROUP BY connection, op, last_error ORDER BY n DESC LIMIT 20",
              )
          ).map((r) => ({ connection: r.connection, op: r.op, error: r.last_error, n: Number(r.n) })),
          cases: await deadLetterCases(app.get(Database)),
          // What the run left to send (rows in back-off after a temporary refusal), and how many live customers
          // the destinations should hold: a count at the vendor above it is a record nobody tracks.
          pending: (
            await app
              .get(Database)
              .query<{ op: string; attempts: number; last_error: string | null; n: number }>(
                "SELECT op, attempts, last_error, COUNT(*) AS n FROM outbox WHERE status = 'pending' GROUP BY op, attempts, last_error ORDER BY n DESC LIMIT 20",
              )
          ).map((r) => ({ op: r.op, attempts: Number(r.attempts), error: r.last_error, n: Number(r.n) })),
          tracked: Number(
            (
              await app
                .get(Database)
                .query(
                  'SELECT COUNT(*) AS n FROM destination_state d JOIN customers c ON c.id = d.customer_id WHERE d.external_id IS NOT NULL AND c.merged_into IS NULL AND c.erased_at IS NULL',
                )
            )[0].n,
          ),
        };
      case 'tracked':
        // The destination's ids this Syncline tracks for live customers (see destinationCheck in run.ts).
        return {
          ids: (
            await app
              .get(Database)
              .query<{ external_id: string }>(
                'SELECT d.external_id FROM destination_state d JOIN customers c ON c.id = d.customer_id WHERE d.external_id IS NOT NULL AND c.merged_into IS NULL AND c.erased_at IS NULL',
              )
          ).map((r) => r.external_id),
        };
      case 'exit':
        await app.close();
        writeSqlStats();
        emit({ bye: true, peak_rss_mb: peakRssMb() });
        // A normal exit, so --cpu-prof writes its profile.
        process.exit(0);
        return undefined;
      default:
        throw new Error(`unknown command ${String(m.cmd)}`);
    }
  });
}

// Guarded: the runner imports the constants above without booting a service.
if (require.main === module) {
  main().catch((err: unknown) => {
    emit({ error: (err as Error).stack ?? String(err) });
    process.exit(1);
  });
}
