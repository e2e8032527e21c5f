// The job-queue port. Sync runs, webhook processing and outbound batches are jobs. The in-process adapter is
// the default (no Redis); the BullMQ adapter takes over when REDIS_URL is set.
export enum JobName {
  SyncRun = 'sync-run',
  ProcessInbox = 'process-inbox',
  DrainOutbox = 'drain-outbox',
}

export interface JobOptions {
  /** Jobs with the same id are coalesced while one is waiting. */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
}

export type JobHandler<T> = (data: T) => Promise<void>;

export abstract class JobQueue {
  abstract add<T>(name: JobName, data: T, options?: JobOptions): Promise<void>;
  abstract process<T>(name: JobName, handler: JobHandler<T>, options?: { concurrency?: number }): void;
  /** Resolves when no job is waiting, delayed or running (tests, demo, CLI). */
  abstract idle(timeoutMs?: number): Promise<void>;
  abstract close(): Promise<void>;
}
