// Drives scripts/sandbox.ts as a real child process, the way bench and demo will: read the one JSON line,
// use the sandbox over HTTP, stop it with a signal and expect a clean exit.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { availableVendors, parseArgs } from './sandbox';

const SCRIPT = path.join(__dirname, 'sandbox.ts');

function run(args: string[]): ChildProcessWithoutNullStreams {
  // Plain node + ts-node's transpile-only hook: no npm wrapper, so signals reach the sandbox process itself.
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', SCRIPT, ...args], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
  });
}

function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sandbox exited (${code}) before printing: ${stderr}`)));
  });
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('scripts/sandbox.ts', () => {
  it('discovers vendors from connectors/*/sandbox/index.ts', () => {
    expect(availableVendors()).toEqual(expect.arrayContaining(['hubspot', 'salesforce', 'sendgrid']));
  });

  it('parses flags in both spellings and passes vendor options through', () => {
    expect(
      parseArgs(['sendgrid', '--port', '0', '--seed=7', '--count', '10', '--options', '{"jobDelayMs":5}']),
    ).toEqual({
      vendor: 'sendgrid',
      options: { port: 0, seed: 7, count: 10, jobDelayMs: 5 },
    });
    expect(() => parseArgs(['sendgrid', '--count', '-1'])).toThrow(/--count/);
    expect(() => parseArgs(['sendgrid', '--bogus', '1'])).toThrow(/unknown flag/);
  });

  it('serves a seeded sendgrid sandbox, prints one JSON line and exits 0 on SIGTERM', async () => {
    const child = run(['sendgrid', '--port', '0', '--seed', '3', '--count', '25']);
    const exited = exitOf(child);
    try {
      const info = JSON.parse(await firstLine(child)) as {
        vendor: string;
        url: string;
        pid: number;
        credentials: Record<string, string>;
      };
      expect(info.vendor).toBe('sendgrid');
      expect(info.pid).toBe(child.pid);
      expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.credentials.apiKey).toMatch(/^SG\./);

      const res = await fetch(`${info.url}/__admin/state`);
      expect(res.status).toBe(200);
      const state = (await res.json()) as { summary: { contacts: number }; records: unknown[] };
      expect(state.summary.contacts).toBe(25);
      expect(state.records).toHaveLength(25);
    } finally {
      child.kill('SIGTERM');
    }
    const { code, stderr } = await exited;
    expect(code).toBe(0);
    expect(stderr).toContain('SIGTERM: closing sendgrid sandbox');
  }, 30_000);

  it('refuses an unknown vendor with exit 2 and lists the available ones', async () => {
    const { code, stderr } = await exitOf(run(['no-such-vendor']));
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown vendor 'no-such-vendor'; available: .*sendgrid/);
  }, 30_000);
});
