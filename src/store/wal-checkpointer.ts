// SQLite WAL checkpoints on a background thread. With the default (automatic) checkpoints, the commit that pushes
// the WAL past its threshold copies every frame back into the database file and fsyncs it, on the one connection
// the whole engine writes through: a stall of ~150 ms at 100,000 customers, paid by whatever waits on that
// commit (a page of a sync, a webhook acknowledgement). Here a worker thread holds its own connection and runs
// PASSIVE checkpoints, which never wait for (nor block) the writer or the readers, so the copy and the fsync use
// the machine's other core. The engine's connection keeps a large automatic threshold as a backstop: should the
// thread fall behind or stop, the WAL is still bounded.
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { DataSource } from 'typeorm';
import { inboxFileOf } from './data-source';

/** The engine connection's own automatic checkpoint, in pages (~200 MB of WAL), only reached if the thread stalls. */
export const BACKSTOP_PAGES = 50_000;
/**
 * How often the thread checkpoints. A 2 s interval was measured and not kept. A checkpoint copies the newest frame
 * of each page written since the last one, so with 2 s a page written by many commits (the block-key index each
 * detection batch rewrites across) is copied fewer times: a 100,000-contact full sync wrote 3.8 GB instead of
 * 4.7 GB and this thread used 5.2 CPU-s instead of 9.4. But the engine's commits grew slower (a WAL that seldom
 * starts over is appended to, not overwritten), and over five paired full syncs and three paired incrementals
 * neither the wall time nor the process's CPU time improved beyond the machine's drift (the incremental's medians
 * leaned ~6% worse).
 */
export const CHECKPOINT_INTERVAL_MS = 250;

export interface CheckpointStats {
  /** Checkpoints run by the thread so far. */
  runs: number;
  /** Frames in the WAL and frames copied back, as the last checkpoint reported them. */
  walFrames: number;
  checkpointedFrames: number;
  lastError?: string;
}

// Plain CommonJS run with `eval`, so it works the same from ts-node, jest and the compiled build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Sqlite = require(workerData.driver);
// The database first (its counters are the ones reported), then the files beside it (the webhook inbox).
const dbs = workerData.files.map((f) => {
  const db = new Sqlite(f, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  return db;
});
const stats = { runs: 0, walFrames: 0, checkpointedFrames: 0 };
const tick = () => {
  try {
    dbs.forEach((db, i) => {
      const [r] = db.pragma('wal_checkpoint(PASSIVE)');
      if (i === 0) {
        stats.walFrames = r.log;
        stats.checkpointedFrames = r.checkpointed;
      }
    });
    stats.runs++;
    delete stats.lastError;
  } catch (e) {
    stats.lastError = String(e && e.message || e);
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'stats') parentPort.postMessage(stats);
  if (m === 'stop') {
    clearInterval(timer);
    tick();
    dbs.forEach((db) => db.close());
    parentPort.postMessage(stats);
    parentPort.close();
  }
});
`;

export class WalCheckpointThread {
  private readonly worker: Worker;
  private exited = false;

  /** @param files the database, then any file attached beside it (each checkpointed on every tick) */
  constructor(files: string | string[], intervalMs = CHECKPOINT_INTERVAL_MS) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        files: typeof files === 'string' ? [files] : files,
        intervalMs,
        driver: require.resolve('better-sqlite3'),
      },
    });
    this.worker.unref();
    this.worker.once('exit', () => (this.exited = true));
  }

  /** The thread's counters (undefined once it has stopped). */
  stats(): Promise<CheckpointStats | undefined> {
    if (this.exited) return Promise.resolve(undefined);
    // The thread is unref'd (it never keeps a process alive); while an answer is awaited it must be.
    this.worker.ref();
    return new Promise<CheckpointStats>((resolve) => {
      this.worker.once('message', resolve);
      this.worker.postMessage('stats');
    }).finally(() => this.worker.unref());
  }

  /** Runs a last checkpoint, closes the thread's connection and ends the thread. */
  async stop(): Promise<CheckpointStats | undefined> {
    if (this.exited) return undefined;
    const done = new Promise<CheckpointStats>((resolve) => this.worker.once('message', resolve));
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    this.worker.postMessage('stop');
    const stats = await Promise.race([done, exited.then(() => undefined)]);
    await exited;
    return stats;
  }
}

/** Starts the checkpoint thread for a file-backed SQLite database (not for :memory: or PostgreSQL). */
@Injectable()
export class WalCheckpointer implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('WalCheckpointer');
  private thread: WalCheckpointThread | null = null;
  /** Read when the thread starts (tests shorten it). */
  intervalMs = CHECKPOINT_INTERVAL_MS;

  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    const o = this.dataSource.options;
    if (o.type !== 'better-sqlite3' || typeof o.database !== 'string' || o.database === ':memory:') return;
    try {
      this.thread = new WalCheckpointThread([o.database, inboxFileOf(o.database)], this.intervalMs);
      await this.dataSource.query(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    } catch (err) {
      // The engine works without it (automatic checkpoints at the configured threshold stay in place).
      this.log.warn(`background checkpoints unavailable: ${(err as Error).message}`);
      this.thread = null;
    }
  }

  get active(): boolean {
    return this.thread !== null;
  }

  stats(): Promise<CheckpointStats | undefined> {
    return this.thread?.stats() ?? Promise.resolve(undefined);
  }

  async onModuleDestroy(): Promise<void> {
    const t = this.thread;
    this.thread = null;
    await t?.stop();
  }
}
