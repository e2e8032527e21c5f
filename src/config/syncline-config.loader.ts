// Loads syncline.yaml (path from SYNCLINE_CONFIG). Errors name the file, the line and the field.
import * as fs from 'node:fs';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { ConfigError } from './env.schema';
import { synclineConfigSchema, type SynclineConfig } from './syncline-config.schema';

export function loadSynclineConfig(file: string): SynclineConfig {
  if (!fs.existsSync(file)) return synclineConfigSchema.parse({});
  return parseSynclineConfig(fs.readFileSync(file, 'utf8'), file);
}

export function parseSynclineConfig(text: string, file = 'syncline.yaml'): SynclineConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const result = synclineConfigSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const line = lineOf(doc, i.path as (string | number)[], text);
      return `${file}${line ? `:${line}` : ''}: ${i.path.join('.') || '(root)'}: ${i.message}`;
    });
    throw new ConfigError(problems.join('\n'));
  }
  return result.data;
}

/** 1-based line of the deepest node that exists on the path, so a missing key points at its parent. */
export function lineOf(doc: Document, pathParts: (string | number)[], text: string): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as { range?: number[] })?.range?.[0];
  for (const key of pathParts) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === key);
      if (!pair) break;
      offset = (pair.key as { range?: number[] })?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      offset = (node as { range?: number[] })?.range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) return undefined;
  return text.slice(0, offset).split('\n').length;
}
