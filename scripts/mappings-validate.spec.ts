import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const TS_NODE = path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js');

function validate(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [TS_NODE, '-T', path.join(ROOT, 'scripts', 'mappings-validate.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mappings:validate', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mappings-validate-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('passes on the shipped mappings with a one-line summary', () => {
    const r = validate();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // A zz-gen-* mapping may appear while the generator's spec runs in parallel; the shipped ones must all be there.
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(
      /^\d+ mapping files valid in mappings: hubspot\/contacts@v2, salesforce\/Contact@v1, salesforce\/Lead@v1, sendgrid\/contacts@v1/,
    );
  });

  it('exits 1 and prints every error with file:line: field on a broken mapping', () => {
    fs.mkdirSync(path.join(tmp, 'salesforce'));
    const file = path.join(tmp, 'salesforce', 'contact.yaml');
    fs.writeFileSync(
      file,
      [
        'connector: salesforce',
        'object: Contact',
        'version: 1',
        'identity: { key: Id }',
        'inbound:',
        '  email: { from: Email }',
        '  phone: { from: Phone, transforms: [e165] }',
        'outbound:',
        '  Email: { from: emial }',
        '',
      ].join('\n'),
    );
    const r = validate(tmp, '--connectors', path.join(tmp, 'none'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `${file}:7: inbound.phone.transforms[0]: unknown transform "e165"`,
      `${file}:9: outbound.Email.from: "emial" is not a canonical field`,
      `2 errors in ${tmp}`,
    ]);
  });

  it('registers the transforms connectors export, as boot does', () => {
    fs.mkdirSync(path.join(tmp, 'mappings', 'acme'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'connectors', 'acme'), { recursive: true });
    fs.writeFileSync(
      path.join(tmp, 'mappings', 'acme', 'people.yaml'),
      'connector: acme\nobject: people\nversion: 2\nidentity: { key: id }\ninbound:\n  email: { from: mail, transforms: [acme.unwrap] }\n',
    );
    const mappingIndex = path.join(ROOT, 'src', 'mapping').replace(/\\/g, '/');
    fs.writeFileSync(
      path.join(tmp, 'connectors', 'acme', 'acme.transforms.ts'),
      `import { defineTransform, noArgsSchema } from '${mappingIndex}';\n` +
        `export const transforms = [defineTransform('acme.unwrap', noArgsSchema, (v) => v)];\n`,
    );
    const withIt = validate(path.join(tmp, 'mappings'), '--connectors', path.join(tmp, 'connectors'));
    expect(withIt.stderr).toBe('');
    expect(withIt.stdout).toContain('1 mapping file valid');
    expect(withIt.stdout).toContain('acme/people@v2');
    const without = validate(path.join(tmp, 'mappings'), '--connectors', path.join(tmp, 'none'));
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('inbound.email.transforms[0]: unknown transform "acme.unwrap"');
  });
});
