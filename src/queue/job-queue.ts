// The job-queue port. Sync runs, webhook processing and outbound batches are jobs. The in-process adapter is
// the default (no Redis); the BullMQ adapter takes over when REDIS_URL is set.
export enum JobName {
  SyncRun = 'sync-run',
  ProcessInbox = 'process-inbox',
  DrainOutbox = 'drain-outbox',
  DetectDuplicates = 'detect-duplicates',
  ApplyPage = 'apply-page',
}

export interface JobOptions {
  /** Jobs with the same id are coalesced while one is waiting. */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
}

/** Whether this process can reach its job queue (what `GET /health` reports as `queue`). */
export interface QueueHealth {
  up: boolean;
  adapter: 'in-process' | 'bullmq' | 'engine-thread';
  /** Why it is down, or what it is connected to. */
  message?: string;
}

/** Jobs of one name by state: on a shared queue, the whole cluster's; otherwise this process's. */
export interface JobCounts {
  name: JobName;
  waiting: number;
  active: number;
  /** Waiting for a retry's back-off or a delay (a schedule's next tick does not count). */
  delayed: number;
}

export type JobHandler<T> = (data: T) => Promise<void>;

export abstract class JobQueue {
  /** True when other processes take jobs from this queue too (work can be spread over a cluster). */
  abstract readonly shared: boolean;
  abstract add<T>(name: JobName, data: T, options?: JobOptions): Promise<void>;
  abstract process<T>(name: JobName, handler: JobHandler<T>, options?: { concurrency?: number }): void;
  /**
   * Adds `name` with `data` on every tick of `cron` (5 or 6 fields), replacing any schedule under `id`. On a
   * shared queue each tick fires once across every process, however many processes declare the same schedule.
   */
  abstract schedule<T>(id: string, cron: string, name: JobName, data: T): Promise<void>;
  /** Removes the schedule under `id` (no-op when there is none). */
  abstract unschedule(id: string): Promise<void>;
  /** Resolves when no job is waiting, delayed or running (tests, demo, CLI). */
  abstract idle(timeoutMs?: number): Promise<void>;
  /** Jobs by name and state, every name listed (the metrics endpoint's queue depth). */
  abstract counts(): Promise<JobCounts[]>;
  /** Whether jobs can be added and taken now; never rejects, answers within about a second. */
  abstract health(): Promise<QueueHealth>;
  abstract close(): Promise<void>;
}
