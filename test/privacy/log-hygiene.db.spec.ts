// "A search of the logs of a full demo run finds no secret and no raw email": the demo's flow (plus vendor
// failures, a forged webhook, an expired session and an erasure) runs in a child process at LOG_LEVEL=debug; all of
// its stdout and stderr is searched for every seeded email (raw and normalized), every connection credential, the
// API token and the Salesforce Outbound Message secret. The masking itself is unit-checked below.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { redactText } from '../../src/privacy/redact';

describe('log hygiene', () => {
  it('masks emails, phones, tokens and keys in free text', () => {
    const text = redactText(
      'invalid-data: Email address Jane.Doe+x@Example.co.uk is invalid; POST /webhooks/salesforce?token=s3cr3t&x=1 ' +
        'Bearer abcdefghijklmnop SG.abcdefgh.ijklmnopqr 00DHs0000000001AAA!AQ.sandbox.x +44 7563 350379',
    );
    expect(text).toBe(
      'invalid-data: Email address [email] is invalid; POST /webhooks/salesforce?token=[redacted]&x=1 Bearer [redacted] [redacted] [redacted] [phone]',
    );
  });

  it('a full demo run at LOG_LEVEL=debug logs no seeded email and no secret', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-log-hygiene-'));
    const needlesFile = path.join(dir, 'needles.json');
    const child = spawnSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'log-hygiene.child.ts')],
      {
        cwd: path.join(__dirname, '../..'),
        env: {
          ...process.env,
          LOG_HYGIENE_NEEDLES: needlesFile,
          LOG_HYGIENE_DB: path.join(dir, 'db.sqlite'),
          LOG_HYGIENE_CONTACTS: '150',
        },
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        timeout: 240_000,
      },
    );
    const output = `${child.stdout}\n${child.stderr}`;
    expect({ status: child.status, tail: child.status === 0 ? '' : output.slice(-2000) }).toEqual({
      status: 0,
      tail: '',
    });
    // Requests were logged (the Outbound Message URL carries the secret in its query string), path only.
    expect(output).toContain('"path":"/webhooks/salesforce"');
    expect(output).toContain('request completed');
    const needles = JSON.parse(fs.readFileSync(needlesFile, 'utf8')) as {
      emails: string[];
      secrets: string[];
    };
    expect(needles.emails.length).toBeGreaterThan(100);
    const lower = output.toLowerCase();
    const emails = new Set(
      needles.emails
        .flatMap((e) => [e, e.trim().toLowerCase()])
        .filter((e) => e.trim().length > 4 && e.includes('@')),
    );
    expect([...emails].filter((e) => lower.includes(e.toLowerCase()))).toEqual([]);
    expect(needles.secrets.filter((s) => s.length > 6 && lower.includes(s.toLowerCase()))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
