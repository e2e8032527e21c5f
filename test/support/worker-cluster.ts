// A cluster of `scripts/worker.ts` processes for the scale-out suites: each a real child process against one
// Redis and one PostgreSQL, with its own BullMQ prefix per suite. Output is kept per worker for failure messages.
// The sources are transpiled once per suite (compileWorker) and the workers run on plain node: three ts-node
// processes each transpiling the whole tree took 15 s or more apiece on two cores.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
/** Under node_modules so the compiled files resolve the project's packages; one directory per test process. */
const OUT = path.join(ROOT, 'node_modules', '.cache', `syncline-worker-${process.pid}`);
const WORKER_JS = path.join(OUT, 'scripts', 'worker.js');

function sourcesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) sourcesUnder(p, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts'))
      out.push(p);
  }
  return out;
}

/**
 * Transpiles src/, connectors/ and scripts/worker.ts (no type check: `npm run lint` does that; tsconfig has
 * isolatedModules, so file-by-file output equals tsc's) into a dist-like tree: out/src, out/connectors (found
 * by the connector loader next to out/src), out/scripts/worker.js. Mappings are read from the working directory.
 */
export function compileWorker(): void {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  );
  if (!parsed) throw new Error('cannot read tsconfig.json');
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    sourceMap: false,
    inlineSourceMap: true,
    incremental: false,
    declaration: false,
    noEmit: false,
  };
  const files = [
    ...sourcesUnder(path.join(ROOT, 'src')),
    ...sourcesUnder(path.join(ROOT, 'connectors')),
    path.join(ROOT, 'scripts', 'worker.ts'),
  ];
  fs.rmSync(OUT, { recursive: true, force: true });
  for (const file of files) {
    const rel = path.relative(ROOT, file);
    const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions,
      fileName: file,
    });
    const target = path.join(OUT, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
}

export function removeCompiledWorker(): void {
  fs.rmSync(OUT, { recursive: true, force: true });
}

export interface ClusterWorker {
  child: ChildProcess;
  pid: number;
  output: string[];
  /** Its `GET /health` address, when started with WORKER_HEALTH_PORT (from its ready line). */
  healthUrl?: string;
  alive(): boolean;
}

export function startWorker(env: Record<string, string>, readyTimeoutMs = 60_000): Promise<ClusterWorker> {
  if (!fs.existsSync(WORKER_JS)) compileWorker();
  const child = spawn(process.execPath, ['--enable-source-maps', WORKER_JS], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const worker: ClusterWorker = {
    child,
    pid: child.pid!,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`worker ${child.pid} not ready after ${readyTimeoutMs} ms:\n${output.join('')}`)),
      readyTimeoutMs,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      if (output.length > 400) output.splice(0, output.length - 400);
      if (text.includes(' ready: queue ')) {
        worker.healthUrl = /health on (http:\/\/\S+\/health)/.exec(text)?.[1];
        clearTimeout(timer);
        resolve(worker);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`worker ${child.pid} exited (${code ?? signal}) before it was ready:\n${output.join('')}`),
      );
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
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
