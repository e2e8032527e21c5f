// `npm run new:connector` end to end: a connector generated into the real connectors/ and mappings/ folders
// (where discovery looks) type-checks, lints, validates and passes the whole conformance kit as generated.
// The folders carry a random zz-gen- id, which the main conformance spec leaves alone, and are always removed.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { loadMappingsDir, TransformRegistry } from '../../src/mapping';
import {
  ConnectorIdError,
  generateConnector,
  REPO_ROOT,
  validateConnectorId,
  type Generated,
} from '../../scripts/new-connector';
import { defineConformanceSuite, GENERATED_PREFIX } from './conformance-kit';
import { lintFiles } from './eslint-runner';

const id = `${GENERATED_PREFIX}${randomBytes(4).toString('hex')}`;
let generated: Generated | undefined;

function removeGenerated(): void {
  // Connector first: a folder without its mapping is never left for a concurrent boot to trip over.
  fs.rmSync(path.join(REPO_ROOT, 'connectors', id), { recursive: true, force: true });
  fs.rmSync(path.join(REPO_ROOT, 'mappings', id), { recursive: true, force: true });
}

/** Diagnostics for `files` under the repository's own compiler options (strict), without emitting. */
function typeCheck(files: string[]): string[] {
  const configPath = path.join(REPO_ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO_ROOT);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, incremental: false });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? path.relative(REPO_ROOT, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

describe('npm run new:connector', () => {
  beforeAll(() => {
    generated = generateConnector({ id });
  });
  afterAll(removeGenerated);

  it('refuses ids that are not lowercase words or already exist', () => {
    for (const bad of ['Acme', '1acme', 'acme_crm', 'acme--crm', '-acme', 'acme-', '', 'a'.repeat(41)])
      expect(() => validateConnectorId(bad)).toThrow(ConnectorIdError);
    expect(() => validateConnectorId('hubspot')).toThrow(/already exists/);
    expect(() => validateConnectorId(id)).toThrow(/already exists/);
    expect(() => validateConnectorId('acme-crm-2')).not.toThrow();
  });

  it('creates the connector folder and its mapping', () => {
    const rel = (generated?.files ?? []).map((f) => path.relative(REPO_ROOT, f)).sort();
    expect(rel).toEqual(
      expect.arrayContaining([
        `connectors/${id}/${id}.module.ts`,
        `connectors/${id}/${id}.connector.ts`,
        `connectors/${id}/${id}.client.ts`,
        `connectors/${id}/${id}.errors.ts`,
        `connectors/${id}/${id}.webhooks.ts`,
        `connectors/${id}/conformance.ts`,
        `connectors/${id}/sandbox/index.ts`,
        `connectors/${id}/sandbox/fixtures.ts`,
        `mappings/${id}/contacts.yaml`,
      ]),
    );
    // No placeholder survived rendering.
    for (const f of generated?.files ?? [])
      expect(fs.readFileSync(f, 'utf8')).not.toMatch(/__(id|Class|CONST|Name)__/);
  });

  it('type-checks under the strict compiler options', () => {
    const files = (generated?.files ?? []).filter((f) => f.endsWith('.ts'));
    expect(typeCheck(files)).toEqual([]);
  });

  it('lints clean, and only its client would touch the vendor', () => {
    const files = (generated?.files ?? []).filter((f) => f.endsWith('.ts'));
    expect(lintFiles(files).map((m) => `${m.file}:${m.line} ${m.message}`)).toEqual([]);
    const fetchers = files.filter(
      (f) => !f.includes(`${path.sep}sandbox${path.sep}`) && /\bfetch\(/.test(fs.readFileSync(f, 'utf8')),
    );
    expect(fetchers.map((f) => path.basename(f))).toEqual([`${id}.client.ts`]);
  });

  it('passes mapping validation', () => {
    const { mappings, errors } = loadMappingsDir(path.join(REPO_ROOT, 'mappings'), new TransformRegistry());
    expect(errors).toEqual([]);
    expect(mappings.map((m) => `${m.connector}/${m.object}`)).toContain(`${id}/contacts`);
  });

  describe('conformance kit, as generated', () => {
    defineConformanceSuite(id);
  });
});
