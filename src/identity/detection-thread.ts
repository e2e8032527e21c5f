// Duplicate detection's reading half on a thread of its own (SQLite files). On SQLite the engine is one thread:
// while it compared customers it applied no page, and detection (reading neighbours, opening their sealed
// fields, normalizing and scoring) was about half of a full sync's CPU. Here a worker thread with its own read
// connection plans each batch from a WAL snapshot (detection-planner.ts) beside the engine's pages, and hands the
// plan back; the engine writes it in a short transaction, first checking that nothing the plan read has changed
// (DuplicateDetector.write). One plan at a time, and the next only once the last is written: a plan made before
// the previous batch's block keys were committed would miss its customers (the write skew detection guards
// against across a cluster with a lock).
// On PostgreSQL the thread has a connection of its own and does the scoring half of a batch (reading the
// neighbours, opening their fields, scoring): the engine claims the batch and writes its block keys in its first
// transaction, hands the batch over, and writes what comes back in its second, checking it as it checks a plan
// (see DuplicateDetector.detectInTwo). A single PostgreSQL process otherwise did detection on the one thread that
// also reads and applies every page.
import { Worker } from 'node:worker_threads';
import { startBoundedWorker } from '../common/bounded-worker';
import { threadEntry } from '../common/thread-entry';
import type { Env } from '../config/env.schema';
import type { DetectionPlan, KeyedBatch } from './detection-planner';

/** What the thread needs to read and open customers as the engine does. */
export interface DetectionThreadData {
  /** SQLite: the database file; the thread plans whole batches. */
  file?: string;
  /** PostgreSQL: where to connect; the thread scores batches the engine claimed. */
  postgres?: { url: string; schema?: string };
  /** Block keys are keyed digests (the blind index), as the engine's EmailKeyer makes them. */
  keyed: boolean;
  /** Customer fields hold sealed personal values to open. */
  sealed: boolean;
  env: Pick<Env, 'NODE_ENV' | 'SYNCLINE_ENCRYPTION_KEYS' | 'SYNCLINE_BLIND_INDEX_KEY'>;
}

export type DetectionRequest =
  | { op: 'plan'; seq: number; limit: number; reviewFloor: number; written: number[] }
  | { op: 'score'; seq: number; batch: KeyedBatch; reviewFloor: number }
  | { op: 'close'; seq: number };

export type DetectionReply =
  { op: 'ready' } | { op: 'done'; seq: number; plan?: DetectionPlan; error?: string };

/**
 * The thread's V8 heap (compiled code): its memos (profiles, blind index, phonetic codes, a few opened PII blobs:
 * ~20 MB at their fullest) and the batch being planned. Under ts-node the TypeScript compiler lives in the thread
 * too, so there it has the default limits.
 */
const HEAP_MB = 48;
/**
 * Its young generation. A plan allocates briefly (rows read, profiles, scores) and keeps little: small semi-spaces
 * cost a few more scavenges, and each MB here is a MB of the process's peak (see startBoundedWorker).
 */
const YOUNG_MB = 4;

export class DetectionThread {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (p: DetectionPlan | undefined) => void; reject: (e: Error) => void }
  >();
  private seq = 0;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(data: DetectionThreadData) {
    const { file, execArgv } = threadEntry(__filename, 'detection-thread.entry');
    const options = { workerData: data, execArgv, name: 'syncline-detection' };
    this.worker = execArgv.length
      ? new Worker(file, options)
      : startBoundedWorker(file, {
          ...options,
          resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: YOUNG_MB },
        });
    // Never what keeps a process alive: while a plan is awaited, the engine's own work does.
    this.worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: DetectionReply) => {
        if (m.op === 'ready') return resolve();
        const p = this.pending.get(m.seq);
        this.pending.delete(m.seq);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve(m.plan);
      });
      const fail = (err: Error) => {
        this.failure ??= err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on('error', fail);
      this.worker.on('exit', (code) => fail(new Error(`detection thread exited (code ${code})`)));
    });
    // A failed start is reported to the first caller (the detector then detects on its own thread).
    this.ready.catch(() => undefined);
  }

  /** Whether the thread stopped (crashed, or closed). */
  get failed(): Error | undefined {
    return this.failure;
  }

  private request(m: DistributiveOmit<DetectionRequest, 'seq'>): Promise<DetectionPlan | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...m, seq });
    });
  }

  /**
   * Plans one batch of pending customers from a snapshot of the database (reads only). The plans handed out and
   * not yet reported `written` count as in flight: the next plan takes other pending rows and sees their block
   * keys as written. So the next plan can be made while the last one waits for its write.
   */
  async plan(limit: number, reviewFloor: number): Promise<DetectionPlan> {
    await this.ready;
    const plan = await this.request({ op: 'plan', limit, reviewFloor, written: this.acks.splice(0) });
    return plan!;
  }

  /**
   * PostgreSQL: scores a batch whose first half (claim, keys) the engine committed: its neighbours are read on the
   * thread's own connection, each statement seeing what was committed before it, as the batch's second
   * transaction would read them. Returns the batch's plan with its pairs and comparisons.
   */
  async score(batch: KeyedBatch, reviewFloor: number): Promise<DetectionPlan> {
    await this.ready;
    const plan = await this.request({ op: 'score', batch, reviewFloor });
    return plan!;
  }

  /** Reports a plan's write committed (or abandoned: its batch was detected otherwise). */
  written(plan: DetectionPlan): void {
    this.acks.push(plan.seq);
  }

  private readonly acks: number[] = [];

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    try {
      await this.ready;
      await this.request({ op: 'close' });
    } catch {
      // Closing anyway.
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000).unref())]);
    await this.worker.terminate();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
