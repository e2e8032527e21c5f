// The engine on its own thread (`syncline serve` on a SQLite file, no Redis). better-sqlite3 is synchronous, so on
// one thread every webhook acknowledgement waited for whatever the engine was doing: at 1,000 deliveries/s the
// thread was saturated by intake plus processing and the acknowledgement p99 reached ~1 s. Here the service
// thread keeps the HTTP surface (intake, API) and the engine thread runs every job (inbox processing, sync runs,
// detection, pushes, schedules, sweeps) in an application context of its own, with its own connection to the same
// database file. The two take turns writing through a WriteGate, the service thread first.
//
// On the service thread this JobQueue forwards jobs and schedules to the engine; handlers registered here are not
// run (the engine registers its own). The engine is a crash-only part: if it dies, `crashed` resolves and the
// service exits to be restarted (everything acknowledged is in the inbox, every run resumes from its cursor).
import { Worker } from 'node:worker_threads';
import {
  HttpException,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Actor } from '../audit/audit.types';
import { threadEntry } from '../common/thread-entry';
import type { AppConfig } from '../config/app-config';
import { createWriteGates, useWriteGates } from '../store/write-gate';
import type { RunSummary } from '../sync/sync-runner.service';
import type { RunTrigger } from '../sync/sync.types';
import {
  JobQueue,
  type JobCounts,
  type JobHandler,
  type JobName,
  type JobOptions,
  type QueueHealth,
} from './job-queue';

/** Where the engine can have a thread of its own: a SQLite file (the other thread opens it too) and no Redis. */
export function engineThreadPossible(config: AppConfig): boolean {
  const db = config.database;
  return db.type === 'sqlite' && db.file !== ':memory:' && !config.env.REDIS_URL;
}

/**
 * The engine runs on its own thread: `on` (the service resolves `auto`, see main.ts) where it is possible. The
 * service thread then leaves all background work (schedules, sweeps, the erasure sweep) to the engine thread.
 */
export function engineThreadWanted(config: AppConfig): boolean {
  return config.env.SYNCLINE_ENGINE_THREAD === 'on' && engineThreadPossible(config);
}

/** What the service thread sends. */
export type EngineRequest =
  | { op: 'add'; name: JobName; data: unknown; options?: JobOptions }
  | { op: 'schedule'; id: string; cron: string; name: JobName; data: unknown }
  | { op: 'unschedule'; id: string }
  | { op: 'idle'; seq: number; timeoutMs?: number }
  | { op: 'counts'; seq: number }
  | { op: 'run'; seq: number; syncId: string; options: EngineRunOptions }
  | { op: 'close'; seq: number };

/** What a run asked of the service thread (the API's `wait` or dry run) carries to the engine thread. */
export interface EngineRunOptions {
  trigger: RunTrigger;
  dryRun?: boolean;
  actor?: Actor;
}

/** What the engine thread answers. */
export type EngineReply =
  | { op: 'ready' }
  | { op: 'done'; seq: number; result?: unknown; error?: string; httpStatus?: number; httpBody?: unknown }
  | { op: 'failed'; error: string };

export interface EngineWorkerData {
  env: AppConfig['env'];
  syncline: AppConfig['syncline'];
  gates: SharedArrayBuffer;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** How long closing waits for the engine's running jobs before the thread is terminated. */
const CLOSE_TIMEOUT_MS = 30_000;

export class EngineThreadJobQueue extends JobQueue implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly shared = false;
  private readonly log = new Logger('EngineThread');
  private readonly gates = createWriteGates();
  private worker?: Worker;
  private ready?: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closing = false;
  private crash?: (err: Error) => void;
  /** Resolves if the engine thread stops on its own (a crash, a failed boot); never when closed normally. */
  readonly crashed = new Promise<Error>((resolve) => (this.crash = resolve));

  constructor(private readonly config: AppConfig) {
    super();
    useWriteGates(this.gates, true);
  }

  /** Started once the service has booted (its migrations done), so the engine boots on an up-to-date schema. */
  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  start(): Promise<void> {
    if (this.ready) return this.ready;
    const { file, execArgv } = threadEntry(__filename, 'engine-thread.entry');
    const workerData: EngineWorkerData = {
      // The engine does the background work this thread leaves to it.
      env: { ...this.config.env, SYNCLINE_ENGINE_THREAD: 'off' },
      syncline: this.config.syncline,
      gates: this.gates,
    };
    const worker = new Worker(file, { workerData, execArgv, name: 'syncline-engine' });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: EngineReply) => {
        if (m.op === 'ready') resolve();
        else if (m.op === 'failed') reject(new Error(`engine thread failed to start: ${m.error}`));
        else if (m.op === 'done') {
          const p = this.pending.get(m.seq);
          this.pending.delete(m.seq);
          // An HTTP error (a run already in progress: 409) keeps its status across the thread boundary.
          if (m.httpStatus) p?.reject(new HttpException(m.httpBody ?? m.error ?? '', m.httpStatus));
          else if (m.error) p?.reject(new Error(m.error));
          else p?.resolve(m.result);
        }
      });
      worker.on('error', (err) => {
        this.log.error(`engine thread error: ${err.stack ?? err.message}`);
        reject(err);
      });
      worker.on('exit', (code) => {
        const err = new Error(`engine thread exited (code ${code})`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        this.worker = undefined;
        if (!this.closing) this.crash?.(err);
      });
    });
    return this.ready;
  }

  private post(m: EngineRequest): void {
    // Jobs added before the bootstrap hook start the thread; it takes messages once its context is up.
    if (!this.ready) void this.start().catch(() => undefined);
    if (!this.worker) throw new Error('the engine thread is not running');
    this.worker.postMessage(m);
  }

  private request<T = void>(m: DistributiveOmit<EngineRequest, 'seq'>): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ ...m, seq } as EngineRequest);
    });
  }

  /**
   * Runs a sync now on the engine thread and resolves to its summary (the API's `wait` and dry runs): on this
   * thread a run's page transactions would hold up every acknowledgement.
   */
  async runSync(syncId: string, options: EngineRunOptions): Promise<RunSummary> {
    await this.start();
    return this.request<RunSummary>({ op: 'run', syncId, options });
  }

  async add<T>(name: JobName, data: T, options?: JobOptions): Promise<void> {
    if (this.closing) return;
    this.post({ op: 'add', name, data, options });
  }

  /** The engine thread runs the handlers; the ones this thread's services register are not used. */
  process<T>(_name: JobName, _handler: JobHandler<T>): void {}

  async schedule<T>(id: string, cron: string, name: JobName, data: T): Promise<void> {
    if (this.closing) return;
    this.post({ op: 'schedule', id, cron, name, data });
  }

  async unschedule(id: string): Promise<void> {
    if (this.closing) return;
    this.post({ op: 'unschedule', id });
  }

  async idle(timeoutMs?: number): Promise<void> {
    await this.start();
    return this.request({ op: 'idle', timeoutMs });
  }

  /** The engine thread's queue (it runs the jobs). */
  async counts(): Promise<JobCounts[]> {
    await this.start();
    return this.request<JobCounts[]>({ op: 'counts' });
  }

  async health(): Promise<QueueHealth> {
    if (this.closing) return { up: false, adapter: 'engine-thread', message: 'closing' };
    if (!this.worker)
      return { up: false, adapter: 'engine-thread', message: 'the engine thread is not running' };
    return { up: true, adapter: 'engine-thread' };
  }

  /** Lets the engine finish its running jobs and close its context, then ends the thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const worker = this.worker;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const timer = setTimeout(() => {
        this.log.warn(`engine thread did not close within ${CLOSE_TIMEOUT_MS} ms: terminating it`);
        void worker.terminate();
      }, CLOSE_TIMEOUT_MS);
      try {
        await this.request({ op: 'close' }).catch(() => undefined);
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    useWriteGates(undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
