// BullMQ adapter of the job-queue port, for several worker processes sharing one Redis. One BullMQ queue per job
// name. Job ids coalesce (an id already waiting, delayed or running is not added twice), so the sweep that every
// process runs never multiplies work. Schedules are BullMQ job schedulers: each tick is one delayed job with a
// deterministic id, so a schedule declared by every process still fires once per tick across the cluster.
// Redis is not the source of truth: anything lost with it (a restart without persistence) is re-derived from
// the database by the sweep, and schedules are re-declared after every reconnect.
import * as os from 'node:os';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue, Worker, type JobsOptions } from 'bullmq';
import type IORedis from 'ioredis';
import {
  JobName,
  JobQueue,
  type JobCounts,
  type JobHandler,
  type JobOptions,
  type QueueHealth,
} from './job-queue';
import { createRedis, RedisRole } from './redis-connection';

export interface BullmqJobQueueOptions {
  url: string;
  /** Key prefix of every queue; one installation (or one test suite) per prefix. */
  prefix: string;
  /** Job lock; a worker that dies holding a job loses it to another worker after about this long. */
  lockMs?: number;
  /** How long close() lets running jobs finish before leaving them to the stalled-job check. */
  closeGraceMs?: number;
}

interface Schedule {
  cron: string;
  name: JobName;
  data: unknown;
}

const DEFAULT_ATTEMPTS = 3;
const IDLE_POLL_MS = 100;
/** How long a health check waits for Redis to answer. */
const HEALTH_TIMEOUT_MS = 1000;

/** BullMQ refuses custom ids with one ':' (its own separator) and ids that parse as integers. */
export function encodeJobId(id: string): string {
  return `j-${id.replace(/:/g, '~')}`;
}

function jobOptions(attempts = DEFAULT_ATTEMPTS): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 1000 },
    // Finished jobs are removed so their id can be used again; the database keeps the outcome of the work.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

export class BullmqJobQueue extends JobQueue implements OnModuleDestroy {
  readonly shared = true;
  private readonly log = new Logger('JobQueue');
  private readonly producer: IORedis;
  private readonly queues = new Map<JobName, Queue>();
  private readonly workers = new Map<JobName, { worker: Worker; connection: IORedis }>();
  private readonly schedules = new Map<string, Schedule>();
  private readonly lockMs: number;
  private connectedOnce = false;
  private closed = false;

  constructor(private readonly options: BullmqJobQueueOptions) {
    super();
    this.lockMs = options.lockMs ?? 30_000;
    this.producer = createRedis(options.url, RedisRole.Producer, 'syncline-producer');
    this.producer.on('ready', () => {
      if (this.connectedOnce) void this.redeclareSchedules();
      this.connectedOnce = true;
    });
  }

  private queue(name: JobName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.options.prefix });
      q.on('error', (err) => this.log.warn(`queue ${name}: ${err.message}`));
      this.queues.set(name, q);
    }
    return q;
  }

  async add<T>(name: JobName, data: T, options: JobOptions = {}): Promise<void> {
    if (this.closed) return;
    await this.queue(name).add(name, data, {
      ...jobOptions(options.attempts),
      jobId: options.jobId ? encodeJobId(options.jobId) : undefined,
      delay: options.delayMs && options.delayMs > 0 ? options.delayMs : undefined,
    });
  }

  process<T>(name: JobName, handler: JobHandler<T>, options: { concurrency?: number } = {}): void {
    if (this.closed || this.workers.has(name)) return;
    const connection = createRedis(this.options.url, RedisRole.Worker, `syncline-worker-${name}`);
    const worker = new Worker(name, async (job) => handler(job.data as T), {
      connection,
      prefix: this.options.prefix,
      concurrency: options.concurrency ?? 1,
      name: `${os.hostname()}:${process.pid}`,
      lockDuration: this.lockMs,
      stalledInterval: Math.max(1000, Math.floor(this.lockMs / 2)),
      // A job whose worker died twice is still worth a third try; the database state makes re-runs safe.
      maxStalledCount: 2,
    });
    worker.on('error', (err) => this.log.warn(`worker ${name}: ${err.message}`));
    worker.on('failed', (job, err) => {
      const attempts = job?.opts.attempts ?? 1;
      const made = job?.attemptsMade ?? 0;
      const msg = `job ${name} ${job?.id ?? ''} failed (attempt ${made}/${attempts}): ${err.message}`;
      if (made >= attempts) this.log.error(msg);
      else this.log.warn(msg);
    });
    this.workers.set(name, { worker, connection });
  }

  async schedule<T>(id: string, cron: string, name: JobName, data: T): Promise<void> {
    // A schedule moved to another job name must not keep firing from its old queue.
    const previous = this.schedules.get(id);
    if (previous && previous.name !== name)
      await this.queue(previous.name).removeJobScheduler(encodeJobId(id));
    this.schedules.set(id, { cron, name, data });
    if (this.closed) return;
    await this.queue(name).upsertJobScheduler(
      encodeJobId(id),
      { pattern: cron },
      { name, data, opts: jobOptions() },
    );
  }

  async unschedule(id: string): Promise<void> {
    this.schedules.delete(id);
    if (this.closed) return;
    // Another process may have declared it on any queue; removing a missing scheduler is a no-op.
    await Promise.all(Object.values(JobName).map((n) => this.queue(n).removeJobScheduler(encodeJobId(id))));
  }

  /** A Redis restarted without persistence has forgotten every scheduler; upserting again is idempotent. */
  private async redeclareSchedules(): Promise<void> {
    for (const [id, s] of this.schedules) {
      await this.queue(s.name)
        .upsertJobScheduler(
          encodeJobId(id),
          { pattern: s.cron },
          { name: s.name, data: s.data, opts: jobOptions() },
        )
        .catch((err: Error) => this.log.warn(`re-declaring schedule ${id} failed: ${err.message}`));
    }
  }

  async counts(): Promise<JobCounts[]> {
    const out: JobCounts[] = [];
    for (const name of Object.values(JobName)) {
      const q = this.queue(name);
      const c = await q.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
      const schedulers = await q.getJobSchedulersCount();
      out.push({
        name,
        waiting: c.waiting + c.prioritized + c['waiting-children'],
        active: c.active,
        delayed: Math.max(0, c.delayed - schedulers),
      });
    }
    return out;
  }

  /** Jobs not yet finished across the whole cluster; each scheduler's next tick does not count. */
  async pending(): Promise<number> {
    return (await this.counts()).reduce((n, c) => n + c.waiting + c.active + c.delayed, 0);
  }

  async idle(timeoutMs = 60_000): Promise<void> {
    if (this.closed) return; // a closed queue runs nothing here (and its connections are gone)
    const deadline = Date.now() + timeoutMs;
    // Two empty readings in a row: a job moving between lists (or a retry being scheduled) is not missed.
    let empty = 0;
    while (empty < 2) {
      if (Date.now() > deadline) throw new Error(`job queue not idle after ${timeoutMs} ms`);
      empty = (await this.pending()) === 0 ? empty + 1 : 0;
      if (empty < 2) await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
    }
  }

  /**
   * Up when this process's Redis connections are ready (a worker whose connection is down takes no jobs, a
   * producer's adds fail) and Redis answers a PING within HEALTH_TIMEOUT_MS.
   */
  async health(): Promise<QueueHealth> {
    const adapter = 'bullmq';
    if (this.closed) return { up: false, adapter, message: 'closed' };
    if (this.producer.status !== 'ready')
      return { up: false, adapter, message: `redis: the connection is ${this.producer.status}` };
    for (const [name, { connection }] of this.workers)
      if (connection.status !== 'ready')
        return {
          up: false,
          adapter,
          message: `redis: the ${name} worker's connection is ${connection.status}`,
        };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.producer.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer to PING within ${HEALTH_TIMEOUT_MS} ms`)),
            HEALTH_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      return { up: false, adapter, message: `redis: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
    return { up: true, adapter, message: `prefix ${this.options.prefix}` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const grace = this.options.closeGraceMs ?? 30_000;
    await Promise.all(
      [...this.workers.values()].map(async ({ worker }) => {
        // Graceful first: running jobs finish and are acknowledged; past the grace they are left to another
        // worker through the stalled-job check.
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), grace)));
        const result = await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
        clearTimeout(timer);
        if (result === 'timeout') await worker.close(true).catch(() => undefined);
      }),
    );
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    for (const c of [this.producer, ...[...this.workers.values()].map((w) => w.connection)]) c.disconnect();
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }
}
