// Shared plumbing of the bench scripts: vendor sandboxes and bench workers as child processes, /proc readings
// (peak RSS, CPU ticks), the JSON-line protocol between the runner and its children, and results.json merging.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(__dirname, '..');
export const OUT_DIR = path.join(ROOT, 'bench', 'out');
export const RESULTS = path.join(ROOT, 'bench', 'results.json');
/** `--large` (1,000,000 contacts) writes here, so its figures never mix with the 100,000-contact ones. */
export const RESULTS_LARGE = path.join(ROOT, 'bench', 'results-large.json');
/** Lines a bench child prints for its parent start with this, so stray log lines on stdout never confuse it. */
export const LINE_PREFIX = '@@bench ';

export interface SandboxReady {
  vendor: string;
  url: string;
  pid: number;
  credentials: Record<string, string>;
}

export interface RunningSandbox {
  ready: SandboxReady;
  child: ChildProcessWithoutNullStreams;
}

/** ts-node in transpile-only mode: type checking is the lint step's job, and it only costs start-up time. */
export const TS_NODE_ARGS = ['-r', 'ts-node/register/transpile-only'];

let compiled = false;

/**
 * Compiles the project to dist/ (`npm run build`), after which every measured process runs as `npm start` would:
 * plain node on compiled JavaScript. Under ts-node, the TypeScript compiler alone holds ~150 MB of a process's
 * RSS and costs CPU on every first require, which is not Syncline's.
 */
export function buildForBench(): void {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  compiled = true;
}

/** Node arguments that run `file` (a .ts path under ROOT): its compiled JS after buildForBench, ts-node before. */
export function runArgs(file: string): string[] {
  if (!compiled) return [...TS_NODE_ARGS, file];
  return [path.join(ROOT, 'dist', path.relative(ROOT, file).replace(/\.ts$/, '.js'))];
}

export function startSandbox(
  vendor: string,
  count: number,
  options?: Record<string, unknown>,
  seed = 1,
): Promise<RunningSandbox> {
  const args = [
    path.join(ROOT, 'scripts', 'sandbox.ts'),
    vendor,
    '--port',
    '0',
    '--seed',
    String(seed),
    '--count',
    String(count),
  ];
  if (options) args.push('--options', JSON.stringify(options));
  // node + the ts-node hook directly (not npm), so the printed pid is the sandbox's own and signals reach it.
  const child = spawn(process.execPath, [...runArgs(args[0]), ...args.slice(1)], { cwd: ROOT });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) =>
      resolve({ child, ready: JSON.parse(line) as SandboxReady }),
    );
    child.once('exit', (code) => reject(new Error(`${vendor} sandbox exited (${code}): ${stderr}`)));
  });
}

export async function stopChild(child: {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  kill(s: NodeJS.Signals): boolean;
  once(e: 'exit', l: () => void): unknown;
}): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}

/** Peak resident set (VmHWM) of a process in MB; Linux only. */
export function peakRssMb(pid: number | 'self' = 'self'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux), or 0 once it is gone. */
export function cpuTicks(pid: number): number {
  return procStat(pid)?.own ?? 0;
}

/**
 * A process's parent, its own CPU ticks (user + system, every thread) and the ticks of its children it has reaped
 * (their CPU moves there when they exit), or undefined once it is gone.
 */
export function procStat(pid: number): { ppid: number; own: number; reaped: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks of a group of processes that come and go, such as PostgreSQL's backends (one per connection, ended
 * when a pool closes an idle one): every live process's own ticks, plus what the group's roots (those whose parent
 * is outside it, the postmaster) have reaped from children that exited. Summing live processes alone loses an
 * exited backend's whole CPU time, and the sum can fall between two samples.
 */
export function groupCpuTicks(pids: number[]): number {
  const stats = new Map<number, { ppid: number; own: number; reaped: number }>();
  for (const pid of pids) {
    const s = procStat(pid);
    if (s) stats.set(pid, s);
  }
  let ticks = 0;
  for (const s of stats.values()) ticks += s.own + (stats.has(s.ppid) ? 0 : s.reaped);
  return ticks;
}

/** fetch + JSON that throws with the body on a non-2xx answer. */
export async function json<T = any>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} -> ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export function postJson<T = any>(
  url: string,
  body: unknown,
  method = 'POST',
  headers: Record<string, string> = {},
): Promise<T> {
  return json<T>(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Writes one protocol line for the parent. */
export function emit(message: Record<string, unknown>): void {
  process.stdout.write(`${LINE_PREFIX}${JSON.stringify(message)}\n`);
}

/**
 * A bench child speaking JSON lines: requests on its stdin, answers prefixed with LINE_PREFIX on its stdout.
 * Everything else it prints (logs) is kept as a tail for error messages.
 */
export class BenchChild {
  private readonly waiting: Array<(m: Record<string, unknown>) => void> = [];
  private readonly queued: Record<string, unknown>[] = [];
  private tail = '';
  private exited: string | undefined;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(LINE_PREFIX)) return void (this.tail = (this.tail + line + '\n').slice(-4000));
      const msg = JSON.parse(line.slice(LINE_PREFIX.length)) as Record<string, unknown>;
      const w = this.waiting.shift();
      if (w) w(msg);
      else this.queued.push(msg);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (process.env.BENCH_TRACE) fs.appendFileSync(process.env.BENCH_TRACE, d);
      this.tail = (this.tail + d.toString()).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      this.exited = `exited (${code ?? signal})`;
      for (const w of this.waiting.splice(0)) w({ error: `child ${this.exited}: ${this.tail}` });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next message; rejects when the child reports an error or dies. */
  next(): Promise<Record<string, unknown>> {
    const take = (m: Record<string, unknown>) => {
      if (m.error) throw new Error(`${String(m.error)}\n--- child output tail ---\n${this.tail}`);
      return m;
    };
    const q = this.queued.shift();
    if (q) return Promise.resolve(q).then(take);
    if (this.exited) return Promise.reject(new Error(`child ${this.exited}: ${this.tail}`));
    return new Promise<Record<string, unknown>>((r) => this.waiting.push(r)).then(take);
  }

  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    return this.next();
  }
}

/** Reads JSON-line requests from stdin and answers each through the handler, one at a time. */
export function serveRequests(
  handler: (m: Record<string, unknown>) => Promise<Record<string, unknown> | undefined>,
): void {
  let chain = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    chain = chain.then(async () => {
      try {
        const reply = await handler(JSON.parse(line) as Record<string, unknown>);
        if (reply) emit(reply);
      } catch (err) {
        emit({ error: (err as Error).stack ?? String(err) });
      }
    });
  });
}

/** Merges measured keys into bench/results.json, keeping keys other bench scripts own (identity, sandboxes…). */
export function mergeResults(
  measured: Record<string, unknown>,
  file: string = RESULTS,
): Record<string, unknown> {
  let existing: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    try {
      existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      existing = {};
    }
  }
  const merged = { ...existing, ...measured };
  // `--only=full_sync_postgres` measures one database of full_sync: the other's figures stay.
  const sub = (o: Record<string, unknown>) => (o.full_sync ?? {}) as Record<string, unknown>;
  if (measured.full_sync) merged.full_sync = { ...sub(existing), ...sub(measured) };
  // What this run did not measure is kept, and named in `carried_over` with the date of the run that measured it
  // (the machine block is this run's): a reader, or bench:compare, never takes a kept figure for a new one.
  const carried = { ...((existing.carried_over ?? {}) as Record<string, string>) };
  const since = String((existing.machine as Record<string, unknown> | undefined)?.date ?? 'an earlier run');
  const keep = (key: string, present: boolean) => {
    const own = (existing[key] as Record<string, unknown> | undefined)?.measured_at;
    if (present) carried[key] ??= typeof own === 'string' ? own : since;
    else delete carried[key];
  };
  for (const key of Object.keys(existing))
    if (key !== 'machine' && key !== 'carried_over' && key !== 'full_sync') keep(key, !(key in measured));
  if (measured.full_sync) {
    for (const db of Object.keys(sub(existing))) keep(`full_sync.${db}`, !(db in sub(measured)));
    for (const db of Object.keys(sub(measured))) delete carried[`full_sync.${db}`];
  } else for (const db of Object.keys(sub(existing))) keep(`full_sync.${db}`, true);
  delete merged.carried_over;
  if (Object.keys(carried).length) merged.carried_over = carried;
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  return merged;
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const sqlStats = new Map<string, { n: number; ms: number }>();

/**
 * Diagnostics: times every statement through TypeORM's query runners (SQLite and PostgreSQL), by statement shape
 * (placeholders collapsed, so one IN list of any length is one entry). Read the totals with sqlStatsRows().
 */
export function traceSql(): void {
  for (const [dir, name] of [
    ['better-sqlite3', 'BetterSqlite3QueryRunner'],
    ['postgres', 'PostgresQueryRunner'],
  ]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const proto = require(`typeorm/driver/${dir}/${name}`)[name].prototype as {
      query: (...a: unknown[]) => Promise<unknown>;
    };
    const original = proto.query;
    proto.query = async function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        const key = String(args[0])
          .replace(/\$\d+/g, '?')
          .replace(/(\?,\s*)+\?/g, '?…')
          .replace(/\(\?(, \?)*\)/g, '(?…)')
          .slice(0, 140);
        const s = sqlStats.get(key) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += performance.now() - t;
        sqlStats.set(key, s);
      }
    };
  }
}

/** Forgets the figures gathered so far (to measure one phase on its own). */
export function resetSqlStats(): void {
  sqlStats.clear();
}

/** Statement shapes by total time, slowest first. */
export function sqlStatsRows(): { ms: number; n: number; sql: string }[] {
  return [...sqlStats.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([sql, s]) => ({ ms: Math.round(s.ms), n: s.n, sql }));
}
