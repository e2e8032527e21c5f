// Starts a worker thread whose `resourceLimits` are the ones it gets. V8's heap-size flags are process-wide and win
// over an isolate's own constraints: under `npm start` (then --max-old-space-size=160 --max-semi-space-size=8) a worker
// asking for a 48 MB old space and a 4 MB young generation got the engine's 160 MB and 16 MB (measured in a
// 100,000-contact sync: the detection thread's young generation held 16 MB). So the two flags are cleared while
// the worker's isolate is made, and set back to the command line's values once it is online. V8 reads them only
// when an isolate's heap is configured: the running isolates keep theirs.
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const HEAP_FLAGS = ['max-old-space-size', 'max-semi-space-size'] as const;

/**
 * The process's own command line. In a worker thread (the engine thread of `syncline serve` starts the detection
 * thread) `process.execArgv` is the worker's, not the process's: on Linux the command line is read instead (all
 * of it: which options take a value is node's to know, and the script's arguments never carry V8 heap flags).
 */
function processExecArgv(): string[] {
  try {
    return fs.readFileSync('/proc/self/cmdline', 'utf8').split('\0').slice(1);
  } catch {
    return process.execArgv;
  }
}

/** A heap flag's value as the process was started with it (command line, then NODE_OPTIONS); 0 when unset. */
export function startupHeapFlag(
  flag: (typeof HEAP_FLAGS)[number],
  execArgv: readonly string[] = processExecArgv(),
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): number {
  const names = [flag, flag.replace(/-/g, '_')];
  let value = 0;
  // Later occurrences win, as they do for V8; NODE_OPTIONS is applied before the command line.
  for (const arg of [...nodeOptions.split(/\s+/), ...execArgv]) {
    const m = /^--([\w-]+)=(\d+)$/.exec(arg);
    if (m && names.includes(m[1])) value = Number(m[2]);
  }
  return value;
}

/** Isolates being made with the flags cleared: the flags go back when the last of them is online (or failed). */
let starting = 0;

export function startBoundedWorker(
  file: string,
  options: WorkerOptions & { resourceLimits: NonNullable<WorkerOptions['resourceLimits']> },
): Worker {
  if (starting++ === 0) for (const f of HEAP_FLAGS) v8.setFlagsFromString(`--${f}=0`);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (--starting === 0) for (const f of HEAP_FLAGS) v8.setFlagsFromString(`--${f}=${startupHeapFlag(f)}`);
  };
  let worker: Worker;
  try {
    worker = new Worker(file, options);
  } catch (err) {
    restore();
    throw err;
  }
  worker.once('online', restore);
  worker.once('error', restore);
  worker.once('exit', restore);
  return worker;
}
