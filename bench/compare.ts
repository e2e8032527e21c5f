// `npm run bench:compare -- <before.json> [after.json] [--fail-over=PCT]`: compares two `bench/results.json` files
// (after defaults to bench/results.json), figure by figure, and says which way each moved.
//
// Compare runs made back to back on one machine (the code before and after a change, on the same day): this
// machine's speed drifts by up to ~3× from one day to the next (docs/performance-log.md), more than most changes
// move a figure. For runs of different days the table adds a column normalized by the machine: the bare-SDK
// `baseline` copy runs code that never changes, so the ratio of its two wall times estimates the machine's change,
// and a time or a rate is scaled by it. It is a rough guide only: the baseline is one 1-2 s run of different work
// (HTTP and JSON in the sandboxes), and between session 22's and session 24's full runs, whose SQLite path barely
// changed, it left the SQLite and incremental figures 18-35% "worse". --fail-over=PCT (exit 1 when a figure got
// worse by more than PCT per cent) therefore judges the raw change, for a CI job that runs both sides itself.
import fs from 'node:fs';
import path from 'node:path';

/** How a figure moves with the machine's speed, and which way is better. */
export enum Kind {
  /** A duration: lower is better; it grows on a slower machine. */
  Time = 'time',
  /** A throughput: higher is better; it falls on a slower machine. */
  Rate = 'rate',
  /** Lower is better, and the machine's speed does not enter (memory, a ratio to the baseline). */
  LowerPlain = 'lower',
  /** Higher is better, and the machine's speed does not enter (recall, a speedup). */
  HigherPlain = 'higher',
}

/** The figures compared: the targets' figures and what explains them. */
export const FIGURES: { path: string; kind: Kind }[] = [
  { path: 'full_sync.sqlite.records_per_s', kind: Kind.Rate },
  { path: 'full_sync.sqlite.wall_s', kind: Kind.Time },
  { path: 'full_sync.sqlite.cpu_s', kind: Kind.Time },
  { path: 'full_sync.sqlite.peak_rss_mb', kind: Kind.LowerPlain },
  { path: 'full_sync.sqlite.dead_lettered', kind: Kind.LowerPlain },
  { path: 'full_sync.sqlite.detection.recall', kind: Kind.HigherPlain },
  { path: 'full_sync.postgres.records_per_s', kind: Kind.Rate },
  { path: 'full_sync.postgres.wall_s', kind: Kind.Time },
  { path: 'full_sync.postgres.peak_rss_mb', kind: Kind.LowerPlain },
  { path: 'baseline.wall_s', kind: Kind.Time },
  { path: 'full_sync_vs_baseline', kind: Kind.LowerPlain },
  { path: 'incremental.wall_s', kind: Kind.Time },
  { path: 'incremental.busy_s', kind: Kind.Time },
  { path: 'webhook_ingest.ack_p50_ms', kind: Kind.Time },
  { path: 'webhook_ingest.ack_p99_ms', kind: Kind.Time },
  { path: 'webhook_ingest.e2e_p50_ms', kind: Kind.Time },
  { path: 'webhook_ingest.e2e_p95_ms', kind: Kind.Time },
  { path: 'scale_out.1.records_per_s', kind: Kind.Rate },
  { path: 'scale_out.2.records_per_s', kind: Kind.Rate },
  { path: 'scale_out.4.records_per_s', kind: Kind.Rate },
  { path: 'scale_out.speedup.2', kind: Kind.HigherPlain },
  { path: 'scale_out.speedup.4', kind: Kind.HigherPlain },
  { path: 'identity.precision', kind: Kind.HigherPlain },
  { path: 'identity.recall', kind: Kind.HigherPlain },
];

export interface Row {
  figure: string;
  before: number | null;
  after: number | null;
  /** after ÷ before − 1, in per cent (null when either side is missing or before is 0). */
  changePct: number | null;
  /** The same with the machine's change estimated from the baseline taken out (null where it does not apply). */
  normalizedPct: number | null;
  /** Per cent worse by the raw change (0 when not worse): what --fail-over judges. */
  worsePct: number;
  /** Which side kept the figure from an earlier run (`carried_over`) instead of measuring it, and from when. */
  carried?: string;
}

export interface Comparison {
  /** after's baseline ÷ before's: above 1, the machine ran slower for `after`. */
  machineFactor: number | null;
  rows: Row[];
}

type Json = Record<string, unknown>;

function figure(results: Json, dotted: string): number | null {
  let v: unknown = results;
  for (const key of dotted.split('.')) v = v && typeof v === 'object' ? (v as Json)[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** When the run that wrote `results` kept `dotted` from an earlier run instead of measuring it: that run's date. */
export function carriedOver(results: Json, dotted: string): string | undefined {
  const kept = (results.carried_over ?? {}) as Record<string, string>;
  for (const [key, since] of Object.entries(kept))
    if (dotted === key || dotted.startsWith(`${key}.`)) return since;
  return undefined;
}

export function compareResults(before: Json, after: Json): Comparison {
  const b0 = figure(before, 'baseline.wall_s');
  const b1 = figure(after, 'baseline.wall_s');
  // The machine's change is estimated only from baselines both runs measured themselves.
  const measuredBoth = !carriedOver(before, 'baseline.wall_s') && !carriedOver(after, 'baseline.wall_s');
  const machineFactor = b0 && b1 && measuredBoth ? b1 / b0 : null;
  const rows = FIGURES.map(({ path: p, kind }): Row => {
    const b = figure(before, p);
    const a = figure(after, p);
    const change = b !== null && a !== null && b !== 0 ? a / b - 1 : null;
    let normalized: number | null = null;
    if (change !== null && machineFactor && p !== 'baseline.wall_s') {
      if (kind === Kind.Time) normalized = a! / machineFactor / b! - 1;
      else if (kind === Kind.Rate) normalized = (a! * machineFactor) / b! - 1;
    }
    const moved = change;
    const lowerIsBetter = kind === Kind.Time || kind === Kind.LowerPlain;
    const worse = moved === null ? 0 : lowerIsBetter ? moved : -moved;
    const keptBefore = carriedOver(before, p);
    const keptAfter = carriedOver(after, p);
    const carried = [
      keptBefore && `before kept it from ${keptBefore}`,
      keptAfter && `after kept it from ${keptAfter}`,
    ]
      .filter(Boolean)
      .join('; ');
    return {
      ...(carried ? { carried } : {}),
      figure: p,
      before: b,
      after: a,
      changePct: change === null ? null : round1(change * 100),
      normalizedPct: normalized === null ? null : round1(normalized * 100),
      worsePct: worse > 0 ? round1(worse * 100) : 0,
    };
  });
  return { machineFactor, rows };
}

/** The command: prints the comparison; returns the exit code (0, 1 for a regression past --fail-over, 2 usage). */
export function main(args: string[]): number {
  const files = args.filter((a) => !a.startsWith('--'));
  const failOver = args.find((a) => a.startsWith('--fail-over='));
  const limit = failOver ? Number(failOver.slice('--fail-over='.length)) : undefined;
  if (!files.length || files.length > 2 || (limit !== undefined && !(limit >= 0))) {
    process.stderr.write(
      'usage: npm run bench:compare -- <before.json> [after.json, default bench/results.json] [--fail-over=PCT]\n',
    );
    return 2;
  }
  const [beforeFile, afterFile = path.join(__dirname, 'results.json')] = files;
  const read = (f: string): Json => {
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')) as Json;
    } catch (err) {
      throw new Error(`cannot read ${f}: ${(err as Error).message}`);
    }
  };
  const before = read(beforeFile);
  const after = read(afterFile);
  const { machineFactor, rows } = compareResults(before, after);
  const when = (r: Json) => String((r.machine as Json | undefined)?.date ?? '?');
  const mode = (r: Json) => String((r.machine as Json | undefined)?.mode ?? '?');
  if (mode(before) !== mode(after))
    console.log(
      `warning: a ${mode(before)} run against a ${mode(after)} run (different sizes): the figures do not compare`,
    );
  console.log(`before: ${beforeFile} (${when(before)})\nafter:  ${afterFile} (${when(after)})`);
  console.log(
    machineFactor
      ? `machine: the baseline took ${figure(after, 'baseline.wall_s')} s against ${figure(before, 'baseline.wall_s')} s, so "normalized" divides times (and multiplies rates) by ${machineFactor.toFixed(2)}`
      : 'machine: the baseline was not measured by both runs, so nothing is normalized',
  );
  const pct = (x: number | null) => (x === null ? '' : `${x > 0 ? '+' : ''}${x}%`);
  console.table(
    rows
      .filter((r) => r.before !== null || r.after !== null)
      .map((r) => ({
        figure: r.figure,
        before: r.before ?? '–',
        after: r.after ?? '–',
        change: pct(r.changePct),
        normalized: pct(r.normalizedPct),
        '': [r.worsePct > 0 ? `worse by ${r.worsePct}%` : '', r.carried ?? ''].filter(Boolean).join('; '),
      })),
  );
  if (limit === undefined) return 0;
  const regressions = rows.filter((r) => r.worsePct > limit);
  for (const r of regressions)
    console.error(`regression: ${r.figure} worse by ${r.worsePct}% (limit ${limit}%)`);
  return regressions.length ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:compare: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
