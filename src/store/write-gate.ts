// One SQLite writer across threads. When the engine runs on its own thread (see queue/engine-thread.ts), two
// connections in one process write the same database file: the service thread (webhook acknowledgements, API
// writes) and the engine thread (inbox processing, detection, pushes). SQLite would serialize them with its file
// lock, but a connection that finds the lock taken sleeps inside the busy handler, blocking its whole thread, in
// steps of up to 100 ms; and a deferred transaction whose snapshot went stale fails outright. Both threads take
// this gate (a lock word in shared memory) around every transaction instead, waiting without blocking their event
// loops, and the service thread goes first: the engine does not start a transaction while an acknowledgement waits,
// so an acknowledgement waits for at most the one transaction in progress.
//
// There is one gate per file: the engine's database and the webhook inbox beside it (data-source.ts). A
// transaction takes the gates of the files it writes, always the database's first, so an acknowledgement (which
// writes only the inbox) never waits for an engine transaction on the database.

const LOCK = 0;
const WAITING = 1;
/** Re-check at least this often while waiting (a missed wake-up costs at most this much). */
const RECHECK_MS = 20;

export class WriteGate {
  private readonly cells: Int32Array;

  /**
   * @param buffer shared by every thread that writes the database (`WriteGate.create().buffer` in one,
   *   `new WriteGate(buffer, …)` in the others)
   * @param priority the service thread's side: it goes ahead of the other side's next transaction
   */
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly priority: boolean,
    /** Which of the buffer's gates (two cells each) this is. */
    readonly slot = 0,
  ) {
    this.cells = new Int32Array(buffer, slot * 2 * Int32Array.BYTES_PER_ELEMENT, 2);
  }

  /** A buffer for `slots` gates. */
  static buffer(slots = 1): SharedArrayBuffer {
    return new SharedArrayBuffer(slots * 2 * Int32Array.BYTES_PER_ELEMENT);
  }

  static create(priority: boolean): WriteGate {
    return new WriteGate(WriteGate.buffer(), priority);
  }

  /** Waits (without blocking the event loop) until this thread holds the gate. */
  async acquire(): Promise<void> {
    const c = this.cells;
    if (this.priority) {
      Atomics.add(c, WAITING, 1);
      try {
        while (Atomics.compareExchange(c, LOCK, 0, 1) !== 0) await wait(c, LOCK, 1);
      } finally {
        Atomics.sub(c, WAITING, 1);
      }
      return;
    }
    for (;;) {
      // Give way while the other side waits: it holds up a request, this side holds up background work.
      if (Atomics.load(c, WAITING) > 0) {
        await wait(c, LOCK, Atomics.load(c, LOCK), 1);
        continue;
      }
      if (Atomics.compareExchange(c, LOCK, 0, 1) === 0) return;
      await wait(c, LOCK, 1);
    }
  }

  release(): void {
    Atomics.store(this.cells, LOCK, 0);
    Atomics.notify(this.cells, LOCK);
  }

  /** Runs `fn` holding the gate. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

async function wait(cells: Int32Array, index: number, value: number, timeoutMs = RECHECK_MS): Promise<void> {
  const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(cells, index, value, timeoutMs);
  if (r.async) await r.value;
  // Not equal any more: let the event loop turn before trying again (the other side may be spinning too).
  else await new Promise((res) => setImmediate(res));
}

/** ES2024 (Node 16+); the project's lib is ES2022. */
interface AtomicsWaitAsync {
  waitAsync(
    cells: Int32Array,
    index: number,
    value: number,
    timeoutMs: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** The files a transaction writes: the engine's database, the webhook inbox beside it, or both. */
export type WriteScope = 'main' | 'inbox' | 'both';

let gates: { main: WriteGate; inbox: WriteGate } | undefined;

/** The gates a transaction of `scope` takes, in the order it takes them; none unless the engine has its own thread. */
export function writeGates(scope: WriteScope): WriteGate[] {
  if (!gates) return [];
  return scope === 'both' ? [gates.main, gates.inbox] : [gates[scope]];
}

/** A buffer holding the database's gate and the inbox's, shared by every thread that writes them. */
export function createWriteGates(): SharedArrayBuffer {
  return WriteGate.buffer(2);
}

/** This thread's side of the gates in `buffer` (`priority`: the service thread); undefined to stop taking them. */
export function useWriteGates(buffer: SharedArrayBuffer | undefined, priority = false): void {
  gates = buffer
    ? { main: new WriteGate(buffer, priority, 0), inbox: new WriteGate(buffer, priority, 1) }
    : undefined;
}
