import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { cpuTicks, groupCpuTicks } from './lib';

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
