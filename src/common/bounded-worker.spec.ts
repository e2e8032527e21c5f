import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startupHeapFlag } from './bounded-worker';

describe('startupHeapFlag', () => {
  it('reads the command line over NODE_OPTIONS, either spelling, the last occurrence winning', () => {
    expect(startupHeapFlag('max-old-space-size', [], '')).toBe(0);
    expect(startupHeapFlag('max-old-space-size', ['--max-old-space-size=160'], '')).toBe(160);
    expect(startupHeapFlag('max-old-space-size', [], '--max_old_space_size=96 --inspect')).toBe(96);
    expect(
      startupHeapFlag('max-old-space-size', ['--max-old-space-size=200'], '--max-old-space-size=96'),
    ).toBe(200);
    expect(
      startupHeapFlag('max-semi-space-size', ['--max-semi-space-size=8', '--max-semi-space-size=4']),
    ).toBe(4);
    expect(startupHeapFlag('max-semi-space-size', ['--max-old-space-size=160'])).toBe(0);
  });
});

describe('startBoundedWorker', () => {
  // A process started as `npm start` starts Syncline: with heap flags on its command line.
  const script = `
    const { Worker } = require('node:worker_threads');
    const { startBoundedWorker } = require(${JSON.stringify(path.join(__dirname, 'bounded-worker.ts'))});
    const code = "require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapStatistics().heap_size_limit / 1048576)";
    const limitOf = (w) => new Promise((r) => w.once('message', (m) => { r(Math.round(m)); void w.terminate(); }));
    (async () => {
      const limits = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 4 };
      const plain = await limitOf(new Worker(code, { eval: true, resourceLimits: limits }));
      const bounded = await limitOf(startBoundedWorker(code, { eval: true, resourceLimits: limits }));
      const after = await limitOf(new Worker(code, { eval: true }));
      console.log(JSON.stringify({ plain, bounded, after }));
    })();`;

  // The command line is read from /proc (Linux); elsewhere a worker falls back to its own execArgv.
  (fs.existsSync('/proc/self/cmdline') ? it : it.skip)(
    'reads the flags from the command line in a worker thread too (its execArgv is its own)',
    () => {
      const inWorker = `
      const { Worker } = require('node:worker_threads');
      new Worker(
        "require('ts-node/register/transpile-only'); const { startupHeapFlag } = require(" +
          ${JSON.stringify(JSON.stringify(path.join(__dirname, 'bounded-worker.ts')))} +
          "); console.log(JSON.stringify([startupHeapFlag('max-old-space-size'), startupHeapFlag('max-semi-space-size')]))",
        { eval: true, execArgv: [] },
      );`;
      const out = execFileSync(
        process.execPath,
        ['--max-old-space-size=160', '--max-semi-space-size=8', '-e', inWorker],
        { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
      );
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual([160, 8]);
    },
    30_000,
  );

  it("gives a worker its own heap limits under the process's heap flags, and leaves the flags as they were", () => {
    const out = execFileSync(
      process.execPath,
      [
        '--max-old-space-size=160',
        '--max-semi-space-size=8',
        '--require',
        'ts-node/register/transpile-only',
        '-e',
        script,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const { plain, bounded, after } = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    // The flag wins over a plain worker's resourceLimits: the engine's 160 MB (plus its young generation).
    expect(plain).toBeGreaterThanOrEqual(160);
    // Bounded: 48 MB of old space plus the 4 MB young generation's share.
    expect(bounded).toBeLessThan(64);
    // Workers made afterwards get the command line's flags again.
    expect(after).toBe(plain);
  }, 30_000);
});
