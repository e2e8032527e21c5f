// Loads every connector module found under connectors/<id>/<id>.module.(ts|js). Adding a vendor is adding a
// folder: nothing in src/ names a connector.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Type } from '@nestjs/common';

/** connectors/ next to src/ (ts-node, jest) or dist/connectors next to dist/src (compiled). */
export const DEFAULT_CONNECTORS_DIR = path.resolve(__dirname, '..', '..', 'connectors');

export interface FoundConnector {
  id: string;
  dir: string;
  module: Type<unknown>;
}

export function findConnectorModules(dir = DEFAULT_CONNECTORS_DIR, only?: string[]): FoundConnector[] {
  if (!fs.existsSync(dir)) return [];
  const found: FoundConnector[] = [];
  for (const id of fs.readdirSync(dir).sort()) {
    if (only && !only.includes(id)) continue;
    const folder = path.join(dir, id);
    const file = ['.ts', '.js']
      .map((ext) => path.join(folder, `${id}.module${ext}`))
      .find((f) => fs.existsSync(f));
    if (!file) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(file) as Record<string, unknown>;
    const module = Object.values(exported).find(
      (v): v is Type<unknown> =>
        typeof v === 'function' && (Reflect.hasMetadata('imports', v) || Reflect.hasMetadata('providers', v)),
    );
    if (!module) throw new Error(`${file} exports no Nest module`);
    found.push({ id, dir: folder, module });
  }
  return found;
}
