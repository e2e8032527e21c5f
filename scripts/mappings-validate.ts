// npm run mappings:validate [-- <mappings dir>] [--connectors <dir>]
// Validates every <dir>/<vendor>/<object>.yaml (default mappings/) the way boot does: built-in transforms
// plus those each connector exports from connectors/<id>/<id>.transforms.ts. Prints every error as
// file:line: field: message and exits 1 on any; prints a one-line summary on success.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  formatMappingError,
  loadMappingsDir,
  TransformRegistry,
  type TransformDefinition,
} from '../src/mapping';

function connectorTransforms(registry: TransformRegistry, dir: string): string[] {
  const loaded: string[] = [];
  if (!fs.existsSync(dir)) return loaded;
  for (const id of fs.readdirSync(dir).sort()) {
    const file = path.resolve(dir, id, `${id}.transforms.ts`);
    if (!fs.existsSync(file)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by convention, not listed
    const mod = require(file) as { transforms?: TransformDefinition<any>[] };
    registry.registerAll(mod.transforms ?? []);
    loaded.push(id);
  }
  return loaded;
}

function main(argv: string[]): number {
  const flag = argv.indexOf('--connectors');
  const connectorsDir = flag === -1 ? 'connectors' : argv[flag + 1];
  const positional = argv.filter((_a, i) => flag === -1 || (i !== flag && i !== flag + 1));
  const dir = positional[0] ?? 'mappings';

  const registry = new TransformRegistry();
  try {
    connectorTransforms(registry, connectorsDir);
  } catch (e) {
    console.error(`cannot load connector transforms: ${(e as Error).message}`);
    return 1;
  }
  const { mappings, errors, files } = loadMappingsDir(dir, registry);
  if (errors.length) {
    for (const e of errors) console.error(formatMappingError(e));
    console.error(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${dir}`);
    return 1;
  }
  const objects = mappings.map((m) => `${m.connector}/${m.object}@v${m.version}`).join(', ');
  console.log(
    `${files.length} mapping file${files.length === 1 ? '' : 's'} valid in ${dir}: ${objects || 'none'}`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
