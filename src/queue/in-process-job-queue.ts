// In-process job queue: the embedded default. Jobs live in memory, so anything that must survive a crash is
// already in the database (inbox rows, outbox rows, cursors) and is re-enqueued at boot.
import { Injectable, Logger, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import {
  JobName,
  JobQueue,
  type JobCounts,
  type JobHandler,
  type JobOptions,
  type QueueHealth,
} from './job-queue';

interface Job {
  name: JobName;
  data: unknown;
  id?: string;
  attempts: number;
  maxAttempts: number;
}

@Injectable()
export class InProcessJobQueue extends JobQueue {
  readonly shared = false;
  private readonly log = new Logger('JobQueue');
  private readonly handlers = new Map<
    JobName,
    { handler: JobHandler<unknown>; concurrency: number; running: number }
  >();
  private readonly waiting: Job[] = [];
  private readonly waitingIds = new Set<string>();
  private readonly runningIds = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Jobs waiting out a delay or a retry's back-off, by name. */
  private readonly delayed = new Map<JobName, number>();
  private running = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Cron jobs live in Nest's registry (visible to the schedule module, stopped by it at shutdown). */
  private readonly crons = new Map<string, CronJob>();

  constructor(@Optional() private readonly registry?: SchedulerRegistry) {
    super();
  }

  async schedule<T>(id: string, cron: string, name: JobName, data: T): Promise<void> {
    await this.unschedule(id);
    if (this.closed) return;
    const job = CronJob.from({
      cronTime: cron,
      onTick: () => void this.add(name, data, { jobId: id }),
      start: true,
    });
    this.crons.set(id, job);
    this.registry?.addCronJob(id, job);
  }

  async unschedule(id: string): Promise<void> {
    const job = this.crons.get(id);
    if (!job) return;
    void job.stop();
    this.crons.delete(id);
    if (this.registry?.doesExist('cron', id)) this.registry.deleteCronJob(id);
  }

  async add<T>(name: JobName, data: T, options: JobOptions = {}): Promise<void> {
    if (this.closed) return;
    const job: Job = { name, data, id: options.jobId, attempts: 0, maxAttempts: options.attempts ?? 3 };
    if (options.delayMs && options.delayMs > 0) {
      this.later(job, options.delayMs);
      return;
    }
    this.enqueue(job);
  }

  private later(job: Job, delayMs: number): void {
    this.delayed.set(job.name, (this.delayed.get(job.name) ?? 0) + 1);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.delayed.set(job.name, this.delayed.get(job.name)! - 1);
      this.enqueue(job);
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  async counts(): Promise<JobCounts[]> {
    return Object.values(JobName).map((name) => ({
      name,
      waiting: this.waiting.filter((j) => j.name === name).length,
      active: this.handlers.get(name)?.running ?? 0,
      delayed: this.delayed.get(name) ?? 0,
    }));
  }

  process<T>(name: JobName, handler: JobHandler<T>, options: { concurrency?: number } = {}): void {
    this.handlers.set(name, {
      handler: handler as JobHandler<unknown>,
      concurrency: options.concurrency ?? 1,
      running: 0,
    });
    this.pump();
  }

  private enqueue(job: Job): void {
    if (job.id && this.waitingIds.has(job.id)) return;
    if (job.id) this.waitingIds.add(job.id);
    this.waiting.push(job);
    this.pump();
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length;) {
      const job = this.waiting[i];
      const h = this.handlers.get(job.name);
      // A job whose id is running waits for it to end: one busy source (a webhook stream) must not take every
      // slot of its kind with copies of itself while another source's job waits.
      if (!h || h.running >= h.concurrency || (job.id && this.runningIds.has(job.id))) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      if (job.id) {
        this.waitingIds.delete(job.id);
        this.runningIds.add(job.id);
      }
      h.running++;
      this.running++;
      void this.execute(job, h).finally(() => {
        if (job.id) this.runningIds.delete(job.id);
        h.running--;
        this.running--;
        this.pump();
        this.checkIdle();
      });
    }
    this.checkIdle();
  }

  private async execute(job: Job, h: { handler: JobHandler<unknown> }): Promise<void> {
    try {
      job.attempts++;
      await h.handler(job.data);
    } catch (err) {
      if (job.attempts < job.maxAttempts && !this.closed) {
        const delay = Math.min(30_000, 200 * 2 ** job.attempts);
        this.log.warn(
          `job ${job.name} failed (attempt ${job.attempts}/${job.maxAttempts}), retrying in ${delay} ms: ${(err as Error).message}`,
        );
        this.later(job, delay);
      } else {
        this.log.error(`job ${job.name} failed for good: ${(err as Error).message}`);
      }
    }
  }

  private checkIdle(): void {
    if (
      this.running === 0 &&
      this.timers.size === 0 &&
      this.waiting.every((j) => !this.handlers.has(j.name))
    ) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  idle(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`job queue not idle after ${timeoutMs} ms`)), timeoutMs);
      t.unref();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      this.checkIdle();
    });
  }

  async health(): Promise<QueueHealth> {
    return this.closed
      ? { up: false, adapter: 'in-process', message: 'closed' }
      : { up: true, adapter: 'in-process' };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.crons.keys()]) await this.unschedule(id);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.delayed.clear();
    this.waiting.length = 0;
  }
}
