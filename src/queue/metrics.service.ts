// Prometheus metrics (text exposition format 0.0.4) for operating Syncline: the backlogs that tell whether the
// workers keep up (jobs, outbound rows and how overdue they are, webhook events, customers awaiting duplicate
// detection), what needs a person (dead letters, quarantine, merges to review), each sync's health, and this
// process's memory and CPU. Everything but the process figures is read from the database and the job queue at
// scrape time, so every process of a cluster reports the same cluster-wide backlog and nothing is lost with a
// restart; scrape one API process (or any worker) for those, and each process for its own process_* figures.
// Served as `GET /metrics` by the API (with an API token) and by a worker on WORKER_HEALTH_PORT.
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Database } from '../store/database';
import { JobQueue } from './job-queue';

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels?: Labels; value: number }[];
}

/** A label value as the exposition format writes it: backslash, double quote and newline escaped. */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(families: Family[]): string {
  let out = '';
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = s.labels
        ? `{${Object.entries(s.labels)
            .map(([k, v]) => `${k}="${labelValue(v)}"`)
            .join(',')}}`
        : '';
      out += `${f.name}${labels} ${Number.isFinite(s.value) ? s.value : 'NaN'}\n`;
    }
  }
  return out;
}

const seconds = (iso: string | null | undefined): number | null => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? null : ms / 1000;
};

@Injectable()
export class MetricsService {
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  /** The whole exposition: cluster-wide backlogs from the database and the queue, then this process. */
  async render(): Promise<string> {
    return renderMetrics([...(await this.backlogs()), ...this.processFamilies()]);
  }

  private async backlogs(): Promise<Family[]> {
    const now = this.clock.now();
    const nowS = now.getTime() / 1000;
    const [queue, jobs, outbox, inbox, pending, quarantine, review, syncs, leases] = await Promise.all([
      this.queue.health(),
      // A queue that cannot answer (Redis down, the engine thread gone) leaves its depth out, not the scrape.
      this.queue.counts().catch(() => []),
      // One pass over the covering index on (connection, object, status, next_attempt_at), no table reads. The
      // due time is text in ISO 8601 UTC, so MIN is the earliest.
      this.db.query<{ connection: string; object: string; status: string; n: number; due: string | null }>(
        `SELECT connection, object, status, COUNT(*) AS n, MIN(next_attempt_at) AS due FROM outbox
            WHERE status IN ('pending', 'dead') GROUP BY connection, object, status`,
      ),
      this.db.query<{ connection: string; n: number }>(
        "SELECT connection, COUNT(*) AS n FROM webhook_inbox WHERE status = 'pending' GROUP BY connection",
      ),
      this.db.query<{ n: number }>('SELECT COUNT(DISTINCT customer_id) AS n FROM identity_pending'),
      this.db.query<{ connection: string; object: string; n: number }>(
        "SELECT connection, object, COUNT(*) AS n FROM quarantine WHERE status = 'open' GROUP BY connection, object",
      ),
      this.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM merge_candidates WHERE status = 'pending'"),
      // Each sync's latest successful run and latest finished run, walking its runs newest first on
      // ix_runs_sync (sync_id, started_at): the cost stays with the recent runs, not the whole history.
      this.db.query<{
        id: string;
        paused: number | boolean;
        succeeded_at: string | null;
        last: string | null;
      }>(
        `SELECT s.id, s.paused,
              (SELECT r.finished_at FROM sync_runs r WHERE r.sync_id = s.id AND r.status = 'succeeded'
                ORDER BY r.started_at DESC LIMIT 1) AS succeeded_at,
              (SELECT r.status FROM sync_runs r WHERE r.sync_id = s.id AND r.status <> 'running'
                ORDER BY r.started_at DESC LIMIT 1) AS last
            FROM syncs s ORDER BY s.id`,
      ),
      this.db.query<{ sync_id: string; expires_at: string }>('SELECT sync_id, expires_at FROM sync_leases'),
    ]);
    const destination = (r: { connection: string; object: string }) => ({
      connection: r.connection,
      object: r.object,
    });
    const live = new Map(leases.map((l) => [l.sync_id, Date.parse(l.expires_at) > now.getTime()]));
    const succeeded = new Map(syncs.map((r) => [r.id, seconds(r.succeeded_at)]));
    const failed = new Map(syncs.filter((r) => r.last).map((r) => [r.id, r.last === 'failed']));
    return [
      {
        name: 'syncline_queue_up',
        help: 'Whether this process can reach its job queue (1) or not (0), as GET /health reports it.',
        type: 'gauge',
        samples: [{ labels: { adapter: queue.adapter }, value: queue.up ? 1 : 0 }],
      },
      {
        name: 'syncline_jobs',
        help: 'Jobs in the job queue by job and state (the whole cluster on Redis, this process otherwise).',
        type: 'gauge',
        samples: jobs.flatMap((c) =>
          (['waiting', 'active', 'delayed'] as const).map((state) => ({
            labels: { job: c.name, state },
            value: c[state],
          })),
        ),
      },
      {
        name: 'syncline_outbox_rows',
        help: 'Outbound rows by destination: pending (to send, retries included) or dead (dead letters).',
        type: 'gauge',
        samples: outbox.map((r) => ({
          labels: { ...destination(r), status: r.status },
          value: Number(r.n),
        })),
      },
      {
        name: 'syncline_outbox_due_lag_seconds',
        help: 'How long the most overdue pending outbound row of a destination has been due (0: none is due yet).',
        type: 'gauge',
        samples: outbox
          .filter((r) => r.status === 'pending')
          .map((r) => ({
            labels: destination(r),
            value: Math.max(0, Math.round(nowS - (seconds(r.due) ?? nowS))),
          })),
      },
      {
        name: 'syncline_webhook_events_pending',
        help: 'Webhook events acknowledged and not yet applied, by connection.',
        type: 'gauge',
        samples: inbox.map((r) => ({ labels: { connection: r.connection }, value: Number(r.n) })),
      },
      {
        name: 'syncline_identity_pending_customers',
        help: 'Customers waiting for duplicate detection (their pushes wait with them).',
        type: 'gauge',
        samples: [{ value: Number(pending[0]?.n ?? 0) }],
      },
      {
        name: 'syncline_quarantine_open',
        help: 'Records held in quarantine, by source connection and object.',
        type: 'gauge',
        samples: quarantine.map((r) => ({ labels: destination(r), value: Number(r.n) })),
      },
      {
        name: 'syncline_merge_candidates_pending',
        help: 'Possible duplicates waiting for a person to review.',
        type: 'gauge',
        samples: [{ value: Number(review[0]?.n ?? 0) }],
      },
      {
        name: 'syncline_sync_running',
        help: 'Whether a run of the sync holds its lease now (1) or not (0).',
        type: 'gauge',
        samples: syncs.map((s) => ({ labels: { sync: s.id }, value: live.get(s.id) ? 1 : 0 })),
      },
      {
        name: 'syncline_sync_paused',
        help: 'Whether the sync is paused (1) or not (0).',
        type: 'gauge',
        samples: syncs.map((s) => ({ labels: { sync: s.id }, value: s.paused ? 1 : 0 })),
      },
      {
        name: 'syncline_sync_last_success_timestamp_seconds',
        help: 'When the latest successful run of the sync finished (Unix time); absent before its first.',
        type: 'gauge',
        samples: syncs
          .filter((s) => succeeded.get(s.id) != null)
          .map((s) => ({ labels: { sync: s.id }, value: succeeded.get(s.id)! })),
      },
      {
        name: 'syncline_sync_last_run_failed',
        help: 'Whether the latest finished run of the sync failed (1) or succeeded (0); absent before its first.',
        type: 'gauge',
        samples: syncs
          .filter((s) => failed.has(s.id))
          .map((s) => ({ labels: { sync: s.id }, value: failed.get(s.id) ? 1 : 0 })),
      },
    ];
  }

  private processFamilies(): Family[] {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    return [
      {
        name: 'process_cpu_seconds_total',
        help: 'User and system CPU time of this process, in seconds.',
        type: 'counter',
        samples: [{ value: (cpu.user + cpu.system) / 1e6 }],
      },
      {
        name: 'process_resident_memory_bytes',
        help: 'Resident memory of this process, in bytes.',
        type: 'gauge',
        samples: [{ value: mem.rss }],
      },
      {
        name: 'process_start_time_seconds',
        help: 'When this process started (Unix time).',
        type: 'gauge',
        samples: [{ value: Math.round(Date.now() / 1000 - process.uptime()) }],
      },
      {
        name: 'nodejs_heap_used_bytes',
        help: 'V8 heap in use by this process, in bytes.',
        type: 'gauge',
        samples: [{ value: mem.heapUsed }],
      },
    ];
  }
}
