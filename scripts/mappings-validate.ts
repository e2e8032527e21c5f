// npm run mappings:validate [-- <dir>]: validates every <dir>/<vendor>/<object>.yaml (default mappings/)
// with the built-in transforms, prints each error as file:line: field: message and exits 1 on any.
import { formatMappingError, loadMappingsDir, TransformRegistry } from '../src/mapping';

function main(argv: string[]): number {
  const dir = argv[0] ?? 'mappings';
  const { mappings, errors, files } = loadMappingsDir(dir, new TransformRegistry());
  if (errors.length) {
    for (const e of errors) console.error(formatMappingError(e));
    console.error(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${dir}`);
    return 1;
  }
  const objects = mappings.map((m) => `${m.connector}/${m.object}@v${m.version}`).join(', ');
  console.log(`${files.length} mapping file${files.length === 1 ? '' : 's'} valid in ${dir}: ${objects || 'none'}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
