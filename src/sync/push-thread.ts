// A sync run's pushes on a thread of their own (a SQLite file, no Redis). better-sqlite3 is synchronous and a run's
// read, page applies and duplicate detection keep one thread busy; the pushes (load the customers, decrypt, map,
// hash, send, settle) waited for turns on it, and most of them ran after detection, one after the other. Here an
// application context of its own on a worker thread, with its own connection to the same file, drains the run's
// destinations while the run goes on; both threads take turns writing through the WriteGate. The outbox already
// allows this: one drainer per destination across processes (a lock row), settles that only succeed for the version
// sent, so a push thread that dies mid-batch leaves its rows pending for the next drain. The thread is started on a
// run's first push and kept for the next runs.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Database } from '../store/database';
import { useWriteGate, WriteGate, writeGate } from '../store/write-gate';
import type { RunCounts } from './sync.types';

/** Where pushes can have a thread of their own: a SQLite file (the other thread opens it too) and no Redis. */
export function pushThreadPossible(config: AppConfig): boolean {
  const db = config.database;
  return db.type === 'sqlite' && db.file !== ':memory:' && !config.env.REDIS_URL;
}

/** `auto` resolved as the entry points (`syncline serve`, the CLI) do: on where it is possible. */
export function resolvePushThread(config: AppConfig): AppConfig {
  if (config.env.SYNCLINE_PUSH_THREAD !== 'auto') return config;
  return new AppConfig(
    { ...config.env, SYNCLINE_PUSH_THREAD: pushThreadPossible(config) ? 'on' : 'off' },
    config.syncline,
  );
}

/** What this thread sends. */
export type PushRequest =
  | { op: 'drain'; seq: number; connection: string; object: string; runId: string | null }
  | { op: 'close'; seq: number };

/** What the push thread answers: progress per batch, then the drain's totals or its error. */
export type PushReply =
  | { op: 'ready' }
  | { op: 'batch'; seq: number; counts: RunCounts }
  | { op: 'done'; seq: number; result?: RunCounts; error?: string }
  | { op: 'failed'; error: string };

export interface PushWorkerData {
  env: AppConfig['env'];
  syncline: AppConfig['syncline'];
  gate: SharedArrayBuffer;
  /** Prefix of the drain-lock owners this thread takes (see DrainOptions.lockOwner). */
  lockPrefix: string;
}

/** The push thread's V8 heap cap: it holds one batch at a time, plus its caches. */
const HEAP_MB = 96;
const CLOSE_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (v: RunCounts | undefined) => void;
  reject: (e: Error) => void;
  onBatch?: (c: RunCounts) => void;
}

@Injectable()
export class PushThread implements OnApplicationShutdown {
  private readonly log = new Logger('PushThread');
  private worker?: Worker;
  private ready?: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** The gate this thread installed (none when it already had one, as the engine thread does). */
  private ownGate?: WriteGate;
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
  ) {}

  get enabled(): boolean {
    return !this.closing && this.config.env.SYNCLINE_PUSH_THREAD === 'on' && pushThreadPossible(this.config);
  }

  /** Starts the thread (once; again after it died). A run calls it first, so the boot overlaps its first page. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    // Both connections must take turns: this thread takes the gate from now on, if it had none.
    let gate = writeGate();
    if (!gate) {
      gate = this.ownGate = WriteGate.create(false);
      useWriteGate(gate);
    }
    const ts = __filename.endsWith('.ts');
    const workerData: PushWorkerData = {
      env: {
        ...this.config.env,
        SYNCLINE_PUSH_THREAD: 'off',
        SYNCLINE_ENGINE_THREAD: 'off',
        // Only drains asked for by a run: no schedules, sweeps or job handlers of its own.
        SYNCLINE_BACKGROUND_JOBS: 'off',
      },
      syncline: this.config.syncline,
      gate: gate.buffer,
      lockPrefix: `push:${randomUUID()}:`,
    };
    const worker = new Worker(path.join(__dirname, `push-thread.entry.${ts ? 'ts' : 'js'}`), {
      workerData,
      execArgv: ts ? ['--require', 'ts-node/register/transpile-only'] : [],
      name: 'syncline-push',
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
    });
    this.worker = worker;
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: PushReply) => {
        if (m.op === 'ready') resolve();
        else if (m.op === 'failed') reject(new Error(`push thread failed to start: ${m.error}`));
        else if (m.op === 'batch') this.pending.get(m.seq)?.onBatch?.(m.counts);
        else if (m.op === 'done') {
          const p = this.pending.get(m.seq);
          this.pending.delete(m.seq);
          if (m.error !== undefined) p?.reject(new Error(m.error));
          else p?.resolve(m.result);
        }
      });
      worker.on('error', (err) => {
        this.log.error(`push thread error: ${err.stack ?? err.message}`);
        reject(err);
      });
      worker.on('exit', (code) => {
        // Its unsettled rows stay pending: the next drain (on a new thread) sends them.
        const err = new Error(`push thread exited (code ${code})`);
        reject(err);
        const pending = [...this.pending.values()];
        this.pending.clear();
        // Its drain locks would block the destinations until they expire; this process saw it die, so they go now.
        void this.db
          .query('DELETE FROM sync_leases WHERE run_id LIKE ?', [`${workerData.lockPrefix}%`])
          .catch((e: Error) => this.log.warn(`could not release the push thread's drain locks: ${e.message}`))
          .finally(() => pending.forEach((p) => p.reject(err)));
        if (this.worker === worker) {
          this.worker = undefined;
          this.ready = undefined;
        }
      });
    });
    // A failed start is reported by the drain that waits for it.
    ready.catch(() => undefined);
    this.ready = ready;
    return ready;
  }

  /** Drains one destination on the push thread, as OutboxService.drain would here (waiting for its lock). */
  async drain(
    connection: string,
    object: string,
    options: { runId?: string | null; onBatch?: (c: RunCounts) => void },
  ): Promise<RunCounts | undefined> {
    await this.start();
    return this.request({ op: 'drain', connection, object, runId: options.runId ?? null }, options.onBatch);
  }

  private request(
    m: { op: 'drain'; connection: string; object: string; runId: string | null } | { op: 'close' },
    onBatch?: (c: RunCounts) => void,
  ): Promise<RunCounts | undefined> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('the push thread is not running'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, onBatch });
      worker.postMessage({ ...m, seq } as PushRequest);
    });
  }

  /** Lets the thread finish its drains and close its context, then ends it. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const worker = this.worker;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const timer = setTimeout(() => {
        this.log.warn(`push thread did not close within ${CLOSE_TIMEOUT_MS} ms: terminating it`);
        void worker.terminate();
      }, CLOSE_TIMEOUT_MS);
      try {
        await this.ready?.catch(() => undefined);
        await this.request({ op: 'close' }).catch(() => undefined);
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    if (this.ownGate && writeGate() === this.ownGate) useWriteGate(undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
