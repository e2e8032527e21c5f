// A cluster of `scripts/worker.ts` processes for the scale-out suites: each a real child process against one
// Redis and one PostgreSQL, with its own BullMQ prefix per suite. Output is kept per worker for failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TS_NODE = path.join(ROOT, 'node_modules/.bin/ts-node');

export interface ClusterWorker {
  child: ChildProcess;
  pid: number;
  output: string[];
  alive(): boolean;
}

export function startWorker(env: Record<string, string>, readyTimeoutMs = 90_000): Promise<ClusterWorker> {
  const child = spawn(TS_NODE, ['-T', path.join(ROOT, 'scripts/worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env, TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const worker: ClusterWorker = { child, pid: child.pid!, output, alive: () => child.exitCode === null && child.signalCode === null };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${child.pid} not ready after ${readyTimeoutMs} ms:\n${output.join('')}`)), readyTimeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      if (output.length > 400) output.splice(0, output.length - 400);
      if (text.includes(' ready: queue ')) {
        clearTimeout(timer);
        resolve(worker);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker ${child.pid} exited (${code ?? signal}) before it was ready:\n${output.join('')}`));
    });
  });
}

/** SIGTERM (graceful), then SIGKILL past the grace. */
export async function stopWorker(w: ClusterWorker, graceMs = 15_000): Promise<void> {
  if (!w.alive()) return;
  const exited = new Promise<void>((r) => w.child.once('exit', () => r()));
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
