// Developer probe (not part of npm run bench): an in-process SQLite full sync of N Salesforce contacts to
// SendGrid, with time per engine phase. Usage: npx ts-node -T bench/probe.ts 10000
import { startEnvironment } from '../scripts/lib/sandbox-environment';
import { SyncRunner } from '../src/sync/sync-runner.service';
import { RunTrigger } from '../src/sync/sync.types';
import * as os from 'node:os';
import * as path from 'node:path';
import { resetSqlStats, sqlStatsRows, traceSql } from './lib';
traceSql();
(async () => {
  const n = Number(process.argv[2] ?? 10000);
  const file = path.join(os.tmpdir(), `probe-${Date.now()}.sqlite`);
  const env = await startEnvironment({
    contacts: n,
    env: {
      DATABASE_URL: process.env.PROBE_DATABASE_URL ?? `sqlite:${file}`,
      ...(process.env.PROBE_DATABASE_URL ? { DATABASE_SCHEMA: `probe_${Date.now().toString(36)}` } : {}),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      SYNCLINE_IDENTITY_MODE: process.env.SYNCLINE_IDENTITY_MODE ?? 'auto',
    },
    defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
  });
  env.salesforce.webhooks.configure({ enabled: false });
  // Phase timers: wrap a few services' methods (developer probe only).
  const timers: Record<string, number> = {};
  // When each phase first started and last ended (ms since `spanZero`): what overlaps and what waits.
  const spans: Record<string, [number, number]> = {};
  let spanZero = performance.now();
  const trace: string[] = [];
  let tracing = false;
  const wrap = (obj: any, name: string, label: string) => {
    const orig = obj[name].bind(obj);
    obj[name] = async (...a: unknown[]) => {
      const s = performance.now();
      try {
        return await orig(...a);
      } finally {
        const e = performance.now();
        timers[label] = (timers[label] ?? 0) + e - s;
        const span = (spans[label] ??= [s - spanZero, 0]);
        span[1] = e - spanZero;
        // PROBE_TRACE=1: every call of the incremental run, in order (what waits for what).
        if (tracing) trace.push(`${label} ${Math.round(s - spanZero)}-${Math.round(e - spanZero)}`);
      }
    };
  };
  const { InboundService } = await import('../src/sync/inbound.service');
  const { CustomerWriter } = await import('../src/canonical/customer-writer.service');
  const { AuditService } = await import('../src/audit/audit.service');
  const { Database } = await import('../src/store/database');
  wrap(env.app.get(InboundService), 'processPage', 'processPage');
  wrap(env.app.get(CustomerWriter), 'apply', 'writer.apply');
  wrap(env.app.get(AuditService), 'append', 'audit.append');
  wrap(env.app.get(Database), 'transaction', 'db.transaction');
  const { DuplicateDetector } = await import('../src/identity/duplicate-detector.service');
  const { OutboxService } = await import('../src/sync/outbox.service');
  wrap(env.app.get(DuplicateDetector), 'detectBatch', 'duplicates');
  const planner = (env.app.get(DuplicateDetector) as any).planner;
  wrap(planner, 'keys', 'detect.keys');
  wrap(planner, 'score', 'detect.score');
  wrap(env.app.get(DuplicateDetector), 'write', 'detect.write');
  wrap(env.app.get(OutboxService), 'enqueueForSyncs', 'outbox.enqueue');
  wrap(env.app.get(OutboxService), 'drain', 'outbox.drain');
  const { ReconciliationService } = await import('../src/sync/reconciliation.service');
  wrap(env.app.get(ReconciliationService), 'reconcile', 'reconcile');
  wrap(env.app.get(InboundService), 'writeOutcomes', 'outcomes');
  const { CustomerRepository } = await import('../src/store/customer.repository');
  const repo = env.app.get(CustomerRepository);
  for (const m of [
    'insertCustomers',
    'insertVersions',
    'insertIdentities',
    'loadMany',
    'findByIdentities',
    'findByEmailKeys',
    'updateCustomer',
  ])
    wrap(repo, m, `repo.${m}`);
  // PROBE_ALLOC=file: a sampling profile of every allocation of the full sync, collected or not (what makes the
  // garbage the young generation scavenges); summarize with bench/alloc-summary.ts.
  const { Session: AllocSession } = await import('node:inspector/promises');
  const alloc = process.env.PROBE_ALLOC ? new AllocSession() : null;
  if (alloc) {
    alloc.connect();
    await alloc.post('HeapProfiler.enable');
    await alloc.post('HeapProfiler.startSampling', {
      samplingInterval: 64 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const t0 = Date.now();
  let inboundDone = 0;
  const run = await env.app.get(SyncRunner).run('sf-contacts', {
    trigger: RunTrigger.Manual,
    pageSize: 2000,
    onProgress: (p) => {
      if (p.phase === 'outbound' && !inboundDone) inboundDone = Date.now();
    },
  });
  const t1 = Date.now();
  if (alloc) {
    const { profile } = await alloc.post('HeapProfiler.stopSampling');
    (await import('node:fs')).writeFileSync(process.env.PROBE_ALLOC!, JSON.stringify(profile));
    alloc.disconnect();
  }
  console.log(
    JSON.stringify({
      n,
      status: run.status,
      counts: run.counts,
      total_s: (t1 - t0) / 1000,
      inbound_s: ((inboundDone || t1) - t0) / 1000,
      rps: Math.round(run.counts.read / ((t1 - t0) / 1000)),
    }),
  );
  console.log(JSON.stringify(Object.fromEntries(Object.entries(timers).map(([k, v]) => [k, Math.round(v)]))));
  for (const r of sqlStatsRows().slice(0, Number(process.env.PROBE_TOP ?? 15))) console.log(r.ms, r.n, r.sql);
  // PROBE_INCREMENTAL=N: then N changed contacts, read incrementally, with the same phase timers.
  const changes = Number(process.env.PROBE_INCREMENTAL ?? 0);
  if (changes) {
    for (const k of Object.keys(timers)) delete timers[k];
    for (const k of Object.keys(spans)) delete spans[k];
    resetSqlStats();
    const ids = (env.salesforce.state().records as { Id: string; attributes?: { type: string } }[])
      .filter((r) => r.attributes?.type === 'Contact')
      .slice(0, changes)
      .map((r) => r.Id);
    env.salesforce.massUpdate(ids, { FirstName: 'Probed' });
    // PROBE_CPU=file: a CPU profile of the incremental run alone.
    const { Session } = await import('node:inspector/promises');
    const session = process.env.PROBE_CPU ? new Session() : null;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const i0 = Date.now();
    spanZero = performance.now();
    tracing = !!process.env.PROBE_TRACE;
    const inc = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      (await import('node:fs')).writeFileSync(process.env.PROBE_CPU!, JSON.stringify(profile));
      session.disconnect();
    }
    console.log(
      JSON.stringify({ incremental: changes, counts: inc.counts, wall_s: (Date.now() - i0) / 1000 }),
    );
    console.log(
      JSON.stringify(Object.fromEntries(Object.entries(timers).map(([k, v]) => [k, Math.round(v)]))),
    );
    console.log(
      'spans (first start - last end, ms):',
      Object.entries(spans)
        .sort((a, b) => a[1][0] - b[1][0])
        .map(([k, [a, b]]) => `${k} ${Math.round(a)}-${Math.round(b)}`)
        .join(' | '),
    );
    for (const r of sqlStatsRows().slice(0, Number(process.env.PROBE_TOP ?? 15)))
      console.log(r.ms, r.n, r.sql);
    tracing = false;
    if (trace.length) console.log('trace:', trace.join(' | '));
  }
  // Consistency: SendGrid holds exactly the contacts tracked for live customers.
  const { Database: Db } = await import('../src/store/database');
  const tracked = await env.app
    .get(Db)
    .query<{ external_id: string; merged_into: string | null }>(
      "SELECT d.external_id, c.merged_into FROM destination_state d JOIN customers c ON c.id = d.customer_id WHERE d.connection = 'sendgrid' AND d.external_id IS NOT NULL",
    );
  const atSg = new Set((env.sendgrid.state().records as { id: string }[]).map((r) => r.id));
  const trackedIds = new Set(tracked.map((t) => t.external_id));
  console.log(
    JSON.stringify({
      at_sendgrid: atSg.size,
      tracked: tracked.length,
      tracked_for_merged: tracked.filter((t) => t.merged_into).length,
      untracked_at_sendgrid: [...atSg].filter((id) => !trackedIds.has(id)).length,
      tracked_missing_at_sendgrid: [...trackedIds].filter((id) => !atSg.has(id)).length,
    }),
  );
  await env.close();
})();
