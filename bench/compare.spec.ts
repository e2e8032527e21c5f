import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareResults, main } from './compare';

const run = (over: Partial<Record<string, unknown>> = {}) => ({
  machine: { date: '2026-12-01T00:00:00Z' },
  baseline: { wall_s: 1 },
  full_sync: { sqlite: { records_per_s: 1000, wall_s: 100, peak_rss_mb: 200, detection: { recall: 0.98 } } },
  incremental: { wall_s: 0.5 },
  ...over,
});

const row = (c: ReturnType<typeof compareResults>, figure: string) =>
  c.rows.find((r) => r.figure === figure)!;

describe('bench:compare', () => {
  it('normalizes times and rates by the baseline, not memory or quality, and judges the raw change', () => {
    // The same code on a machine twice as slow, with 30% more memory and a better recall.
    const slower = run({
      baseline: { wall_s: 2 },
      full_sync: {
        sqlite: { records_per_s: 500, wall_s: 200, peak_rss_mb: 260, detection: { recall: 0.99 } },
      },
      incremental: { wall_s: 1 },
    });
    const c = compareResults(run(), slower);
    expect(c.machineFactor).toBe(2);
    expect(row(c, 'full_sync.sqlite.records_per_s')).toMatchObject({
      changePct: -50,
      normalizedPct: 0,
      worsePct: 50,
    });
    expect(row(c, 'full_sync.sqlite.wall_s')).toMatchObject({
      changePct: 100,
      normalizedPct: 0,
      worsePct: 100,
    });
    expect(row(c, 'incremental.wall_s')).toMatchObject({ changePct: 100, normalizedPct: 0 });
    expect(row(c, 'full_sync.sqlite.peak_rss_mb')).toMatchObject({
      changePct: 30,
      normalizedPct: null,
      worsePct: 30,
    });
    expect(row(c, 'full_sync.sqlite.detection.recall')).toMatchObject({ worsePct: 0 });
    // The baseline itself is the machine: reported, never normalized into nothing.
    expect(row(c, 'baseline.wall_s')).toMatchObject({ changePct: 100, normalizedPct: null });
    // Figures neither file has stay empty rather than read as zero.
    expect(row(c, 'scale_out.2.records_per_s')).toMatchObject({ before: null, after: null, changePct: null });
  });

  it('calls a slower code path on the same machine worse, by how much', () => {
    const c = compareResults(run(), run({ incremental: { wall_s: 0.6 } }));
    expect(row(c, 'incremental.wall_s')).toMatchObject({ changePct: 20, normalizedPct: 20, worsePct: 20 });
  });

  it('exits 1 past --fail-over, 0 within it, and 2 on a usage error, naming the regressions', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-compare-'));
    const before = path.join(dir, 'before.json');
    const after = path.join(dir, 'after.json');
    fs.writeFileSync(before, JSON.stringify(run()));
    fs.writeFileSync(after, JSON.stringify(run({ incremental: { wall_s: 0.6 } })));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const table = jest.spyOn(console, 'table').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(main([before, after, '--fail-over=10'])).toBe(1);
      expect(error).toHaveBeenCalledWith('regression: incremental.wall_s worse by 20% (limit 10%)');
      expect(main([before, after, '--fail-over=25'])).toBe(0);
      expect(main([before, after])).toBe(0);
      expect(main([])).toBe(2);
      expect(main([before, after, '--fail-over=x'])).toBe(2);
      const printed = (table.mock.calls[0][0] as { figure: string; change: string }[]).find(
        (r) => r.figure === 'incremental.wall_s',
      );
      expect(printed).toMatchObject({ change: '+20%' });
    } finally {
      log.mockRestore();
      table.mockRestore();
      error.mockRestore();
      stderr.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('normalizes only by baselines both runs measured, and says which figures a run kept from an earlier one', () => {
    const partial = run({
      incremental: { wall_s: 0.4 },
      carried_over: { baseline: '2026-11-30T00:00:00Z', full_sync: '2026-11-30T00:00:00Z' },
    });
    const c = compareResults(run(), partial);
    expect(c.machineFactor).toBeNull();
    expect(row(c, 'incremental.wall_s')).toMatchObject({ changePct: -20, normalizedPct: null });
    expect(row(c, 'incremental.wall_s').carried).toBeUndefined();
    expect(row(c, 'full_sync.sqlite.wall_s').carried).toBe('after kept it from 2026-11-30T00:00:00Z');
  });
});
