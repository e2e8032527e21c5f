// "Nothing under src/ imports a vendor SDK": the ESLint rule that enforces it fires, and src/ is clean today.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lintFiles, REPO_ROOT } from './eslint-runner';

/** The vendor SDKs in package.json; eslint.config.mjs restricts the same set. */
const VENDOR_SDKS = ['jsforce', '@hubspot/api-client', '@sendgrid/client'];
const SRC = path.join(REPO_ROOT, 'src');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** import … from 'x', import 'x', export … from 'x', require('x'), import('x'), for x and its subpaths. */
const VENDOR_IMPORT = new RegExp(
  `(?:\\bfrom\\s*|\\bimport\\s*|\\brequire\\s*\\(\\s*|\\bimport\\s*\\(\\s*)['"](?:${VENDOR_SDKS.map(escape).join('|')})(?:/[^'"]*)?['"]`,
);

describe('vendor SDKs stay out of src/', () => {
  it('ESLint reports no-restricted-imports for a vendor SDK import under src/, but not in a connector client', () => {
    const probe = path.join(SRC, `zz-lint-probe-${randomBytes(4).toString('hex')}.ts`);
    fs.writeFileSync(
      probe,
      [
        "import jsforce from 'jsforce';",
        "import { Client } from '@hubspot/api-client';",
        "import sendgrid from '@sendgrid/client';",
        'export const sdks = [jsforce, Client, sendgrid];',
        '',
      ].join('\n'),
    );
    let messages;
    try {
      messages = lintFiles([probe, 'connectors/salesforce/salesforce.client.ts']);
    } finally {
      fs.rmSync(probe, { force: true });
    }
    const restricted = messages.filter((m) => m.ruleId === 'no-restricted-imports');
    expect(restricted.map((m) => ({ file: m.file, line: m.line, severity: m.severity }))).toEqual([
      { file: path.relative(REPO_ROOT, probe), line: 1, severity: 2 },
      { file: path.relative(REPO_ROOT, probe), line: 2, severity: 2 },
      { file: path.relative(REPO_ROOT, probe), line: 3, severity: 2 },
    ]);
    expect(restricted[0].message).toMatch(/never imports a vendor SDK/);
  });

  it('the pattern this spec greps with catches every import form', () => {
    for (const line of [
      "import jsforce from 'jsforce';",
      "import type { Connection } from 'jsforce/lib/connection';",
      'export { Client } from "@hubspot/api-client";',
      "const c = require('@sendgrid/client');",
      "await import('@sendgrid/client')",
      "import '@hubspot/api-client';",
    ])
      expect(VENDOR_IMPORT.test(line)).toBe(true);
    expect(VENDOR_IMPORT.test("const name = 'jsforce';")).toBe(false);
  });

  it('no file under src/ imports a vendor SDK', () => {
    const offenders = tsFiles(SRC)
      .filter((f) => !path.basename(f).startsWith('zz-lint-probe-'))
      .flatMap((f) =>
        fs
          .readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) =>
            VENDOR_IMPORT.test(line) ? [`${path.relative(REPO_ROOT, f)}:${i + 1}: ${line.trim()}`] : [],
          ),
      );
    expect(offenders).toEqual([]);
  });
});
