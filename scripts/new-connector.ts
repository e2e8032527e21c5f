// npm run new:connector -- <id> [--name "Display Name"]
// Creates connectors/<id>/ (module, connector, client, errors, webhooks, conformance profile, sandbox with fixtures)
// and mappings/<id>/contacts.yaml from scripts/templates/. The result compiles, validates and passes the
// conformance kit as generated; the integrator then replaces the sandbox's API with the vendor's (docs/connectors.md).
// It never overwrites: an existing connector or mapping folder is an error.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const TEMPLATES_DIR = path.join(__dirname, 'templates');
/** Lowercase words joined by single hyphens; the id is a folder name, a mapping `connector:` and a URL segment. */
export const CONNECTOR_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_ID_LENGTH = 40;

export interface GenerateOptions {
  id: string;
  /** Repository root holding connectors/ and mappings/ (default: this repository). */
  root?: string;
  displayName?: string;
}

export interface Generated {
  connectorDir: string;
  mappingDir: string;
  /** Every file written, absolute. */
  files: string[];
}

export class ConnectorIdError extends Error {}

export function validateConnectorId(id: string, root = REPO_ROOT): void {
  if (!CONNECTOR_ID.test(id) || id.length > MAX_ID_LENGTH)
    throw new ConnectorIdError(
      `"${id}" is not a connector id: use lowercase letters, digits and single hyphens, starting with a letter (at most ${MAX_ID_LENGTH} characters), e.g. "acme-crm"`,
    );
  for (const dir of ['connectors', 'mappings']) {
    if (fs.existsSync(path.join(root, dir, id)))
      throw new ConnectorIdError(`${dir}/${id}/ already exists; pick another id or remove it first`);
  }
}

/** The names the templates use: acme-crm -> AcmeCrm, ACME_CRM, "Acme Crm". */
export function namesFor(id: string, displayName?: string): Record<string, string> {
  const words = id.split('-');
  const cap = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);
  return {
    __id__: id,
    __Class__: words.map(cap).join(''),
    __CONST__: words.join('_').toUpperCase(),
    __Name__: displayName ?? words.map(cap).join(' '),
  };
}

function render(text: string, names: Record<string, string>): string {
  return Object.entries(names).reduce(
    (out, [placeholder, value]) => out.split(placeholder).join(value),
    text,
  );
}

/** Template files under `dir`, relative, recursively. */
function templateFiles(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) return templateFiles(dir, r);
    return e.name.endsWith('.tpl') ? [r] : [];
  });
}

function writeTree(fromDir: string, toDir: string, names: Record<string, string>): string[] {
  const written: string[] = [];
  for (const rel of templateFiles(fromDir)) {
    const target = path.join(toDir, render(rel, names).replace(/\.tpl$/, ''));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, render(fs.readFileSync(path.join(fromDir, rel), 'utf8'), names));
    written.push(target);
  }
  return written;
}

/**
 * Writes the mapping, then the connector folder. Each appears in one rename, so a process scanning connectors/ or
 * mappings/ at the same moment (a running app, a parallel test) never sees a half-written plug-in, and the
 * registry's "every declared object has a mapping" check holds from the first instant.
 */
export function generateConnector(options: GenerateOptions): Generated {
  const root = options.root ?? REPO_ROOT;
  const { id } = options;
  validateConnectorId(id, root);
  const names = namesFor(id, options.displayName);
  const connectorDir = path.join(root, 'connectors', id);
  const mappingDir = path.join(root, 'mappings', id);
  // Dot-folders are ignored by connector discovery and the kit.
  const staging = path.join(root, 'connectors', `.${id}.staging-${process.pid}`);
  const files: string[] = [];
  try {
    fs.mkdirSync(mappingDir, { recursive: true });
    for (const rel of templateFiles(path.join(TEMPLATES_DIR, 'mappings'))) {
      const target = path.join(mappingDir, rel.replace(/\.tpl$/, ''));
      const tmp = `${target}.partial-${process.pid}`;
      fs.writeFileSync(
        tmp,
        render(fs.readFileSync(path.join(TEMPLATES_DIR, 'mappings', rel), 'utf8'), names),
      );
      fs.renameSync(tmp, target);
      files.push(target);
    }
    const staged = writeTree(path.join(TEMPLATES_DIR, 'connector'), staging, names);
    fs.renameSync(staging, connectorDir);
    files.push(...staged.map((f) => path.join(connectorDir, path.relative(staging, f))));
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(connectorDir)) fs.rmSync(mappingDir, { recursive: true, force: true });
    throw e;
  }
  return { connectorDir, mappingDir, files };
}

function main(argv: string[]): number {
  const nameFlag = argv.indexOf('--name');
  const displayName = nameFlag === -1 ? undefined : argv[nameFlag + 1];
  const positional = argv.filter((_a, i) => nameFlag === -1 || (i !== nameFlag && i !== nameFlag + 1));
  const id = positional[0];
  if (!id || positional.length > 1 || (nameFlag !== -1 && !displayName)) {
    console.error('usage: npm run new:connector -- <id> [--name "Display Name"]');
    return 2;
  }
  try {
    const { files } = generateConnector({ id, displayName });
    for (const f of files) console.log(`created ${path.relative(process.cwd(), f)}`);
    console.log(
      [
        '',
        `Next: fill in connectors/${id}/${id}.client.ts for the vendor's API, adjust mappings/${id}/contacts.yaml,`,
        `then run \`npm run mappings:validate\` and \`npx jest test/conformance\` (see docs/connectors.md).`,
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    console.error(e instanceof ConnectorIdError ? e.message : e);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
