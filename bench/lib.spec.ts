import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuTicks, groupCpuTicks, mergeResults } from './lib';

// The bench's CPU split (scale_out) reads /proc (Linux); elsewhere the bench is not run.
const onLinux = fs.existsSync('/proc/self/stat');

describe('bench CPU accounting', () => {
  (onLinux ? it : it.skip)(
    "a group's CPU keeps the time of a member that exited: its parent reaped it, as the postmaster reaps a backend",
    async () => {
      // A parent that starts a child burning 400 ms of CPU, waits for it, then idles until told to stop.
      const parent = spawn(
        process.execPath,
        [
          '-e',
          `const { spawn } = require('node:child_process');
           const c = spawn(process.execPath, ['-e', 'while (process.cpuUsage().user < 400000);']);
           console.log('child ' + c.pid);
           c.on('exit', () => console.log('reaped'));
           setInterval(() => undefined, 1000);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        let out = '';
        let childPid = 0;
        await new Promise<void>((resolve, reject) => {
          parent.on('exit', (code) => reject(new Error(`parent exited (${code})`)));
          parent.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /child (\d+)/.exec(out);
            if (m) childPid = Number(m[1]);
            if (out.includes('reaped')) resolve();
          });
        });
        // The child is gone: summing live members alone would lose its 40-odd ticks (400 ms of user CPU).
        expect(fs.existsSync(`/proc/${childPid}`)).toBe(false);
        // Stopped, the parent's own ticks hold still between the readings below.
        parent.kill('SIGSTOP');
        const state = () => fs.readFileSync(`/proc/${parent.pid}/stat`, 'utf8').split(') ')[1][0];
        for (let i = 0; i < 200 && state() !== 'T'; i++) await new Promise((r) => setTimeout(r, 10));
        expect(state()).toBe('T');
        const parentOwn = cpuTicks(parent.pid!);
        const group = groupCpuTicks([parent.pid!, childPid]);
        expect(group - parentOwn).toBeGreaterThanOrEqual(38);
        // A member whose parent is in the group counts its own time once, not again through the parent.
        expect(groupCpuTicks([parent.pid!])).toBe(group);
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});

describe('bench results file', () => {
  it('names what a partial run kept from earlier runs, with the date each was measured, and forgets it once measured', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
    const file = path.join(dir, 'results.json');
    try {
      // A full run, and the identity bench's own key beside it.
      fs.writeFileSync(
        file,
        JSON.stringify({
          machine: { date: 'D1' },
          full_sync: { sqlite: { wall_s: 30 }, postgres: { wall_s: 60 } },
          baseline: { wall_s: 1 },
          incremental: { wall_s: 0.5 },
          identity: { recall: 0.98, measured_at: 'D0' },
        }),
      );
      // `--only=full_sync_sqlite`.
      let r = mergeResults({ machine: { date: 'D2' }, full_sync: { sqlite: { wall_s: 31 } } }, file);
      expect(r.full_sync).toEqual({ sqlite: { wall_s: 31 }, postgres: { wall_s: 60 } });
      expect(r.carried_over).toEqual({
        'full_sync.postgres': 'D1',
        baseline: 'D1',
        incremental: 'D1',
        identity: 'D0',
      });
      // `--only=incremental` later: what was kept keeps its own date, what it measured is no longer kept.
      r = mergeResults({ machine: { date: 'D3' }, incremental: { wall_s: 0.6 } }, file);
      expect(r.carried_over).toEqual({
        'full_sync.sqlite': 'D2',
        'full_sync.postgres': 'D1',
        baseline: 'D1',
        identity: 'D0',
      });
      // A full run measures everything but identity.
      r = mergeResults(
        {
          machine: { date: 'D4' },
          full_sync: { sqlite: { wall_s: 29 }, postgres: { wall_s: 59 } },
          baseline: { wall_s: 1.1 },
          incremental: { wall_s: 0.5 },
        },
        file,
      );
      expect(r.carried_over).toEqual({ identity: 'D0' });
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(r);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
