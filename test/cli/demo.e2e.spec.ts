// `npm run demo` end to end, as a child process with a smaller seed: it must exit 0 and end with its summary.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

jest.setTimeout(240_000);

it('runs the demo to its summary line and exits 0', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-demo-'));
  try {
    const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '-T', 'scripts/demo.ts'], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, SYNCLINE_DEMO_CONTACTS: '300', SYNCLINE_DEMO_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 220_000,
    });
    expect(r.stderr).not.toContain('demo: FAILED');
    expect(r.status).toBe(0);
    const summary = /^demo: synced (\d+) contacts .*$/m.exec(r.stdout);
    expect(summary).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(200);
    expect(r.stdout).toContain('HasOptedOutOfEmail = true');
    expect(r.stdout).toMatch(/audit chain ok: \d+ entries verified/);
    // Only masked addresses in the output.
    expect(r.stdout).not.toMatch(/[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9.-]+\.[a-z]{2,}/);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
