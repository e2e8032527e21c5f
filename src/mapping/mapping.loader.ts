// Loads and validates every mappings/<vendor>/<object>.yaml. All problems are collected (not just the
// first) and each names the file, the line and the field, so one run of mappings:validate shows them all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { lineOf } from '../config/syncline-config.loader';
import { compileMapping } from './mapping.compiler';
import { mappingFileSchema } from './mapping-file.schema';
import { MappingValidationError, type MappingError } from './mapping-validation.error';
import type { CompiledMapping } from './mapping.types';
import { zodProblems } from './zod-issues';
import { TransformRegistry } from './transforms/transform.registry';

export interface LoadResult {
  mappings: CompiledMapping[];
  errors: MappingError[];
  files: string[];
}

/** "inbound.phone.transforms[0].e164.defaultCountry" */
export function formatFieldPath(parts: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Parses and compiles one file's text. `file` is only used in messages. */
export function parseMappingFile(
  text: string,
  file: string,
  transforms: TransformRegistry = new TransformRegistry(),
): { mapping?: CompiledMapping; errors: MappingError[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    return {
      errors: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0]?.line,
        field: '',
        message: e.message.split('\n')[0],
      })),
    };
  }
  const at = (parts: (string | number)[]) => lineOf(doc, parts, text);
  const parsed = mappingFileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    return {
      errors: zodProblems(parsed.error).map((p) => ({
        file,
        line: at(p.path),
        field: formatFieldPath(p.path),
        message: p.message,
      })),
    };
  }
  const { mapping, problems } = compileMapping(parsed.data, file, transforms);
  return {
    mapping,
    errors: problems.map((p) => ({
      file,
      line: at(p.path),
      field: formatFieldPath(p.path),
      message: p.message,
    })),
  };
}

function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/** Lists <dir>/<vendor>/*.yaml|yml; YAML files anywhere else are reported, since they would be ignored. */
function mappingFiles(dir: string, errors: MappingError[]): string[] {
  const files: string[] = [];
  for (const entry of fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      for (const f of fs
        .readdirSync(full, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))) {
        const inner = path.join(full, f.name);
        if (f.isFile() && /\.ya?ml$/.test(f.name)) files.push(inner);
        else if (f.isDirectory()) {
          errors.push({
            file: displayPath(inner),
            field: '',
            message: 'mappings are one level deep: <dir>/<vendor>/<object>.yaml',
          });
        }
      }
    } else if (/\.ya?ml$/.test(entry.name)) {
      errors.push({
        file: displayPath(full),
        field: '',
        message: 'a mapping file belongs in a vendor folder: <dir>/<vendor>/<object>.yaml',
      });
    }
  }
  return files;
}

/** Loads every mapping under `dir` without throwing; `errors` is empty when all is well. */
export function loadMappingsDir(
  dir: string,
  transforms: TransformRegistry = new TransformRegistry(),
  only?: string[],
): LoadResult {
  const errors: MappingError[] = [];
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    return {
      mappings: [],
      files: [],
      errors: [{ file: displayPath(path.resolve(dir)), field: '', message: 'mappings directory not found' }],
    };
  }
  const files = mappingFiles(dir, errors).filter(
    (f) => !only || only.includes(path.basename(path.dirname(f))),
  );
  const mappings: CompiledMapping[] = [];
  const seen = new Map<string, string>();
  for (const abs of files) {
    const file = displayPath(abs);
    const text = fs.readFileSync(abs, 'utf8');
    const result = parseMappingFile(text, file, transforms);
    errors.push(...result.errors);
    const m = result.mapping;
    if (!m) continue;
    const doc = parseDocument(text);
    const vendorDir = path.basename(path.dirname(abs));
    if (m.connector !== vendorDir) {
      errors.push({
        file,
        line: lineOf(doc, ['connector'], text),
        field: 'connector',
        message: `"${m.connector}" does not match its folder "${vendorDir}"`,
      });
      continue;
    }
    const key = `${m.connector}/${m.object}`.toLowerCase();
    const first = seen.get(key);
    if (first) {
      errors.push({
        file,
        line: lineOf(doc, ['object'], text),
        field: 'object',
        message: `${m.connector}/${m.object} is already mapped in ${first}`,
      });
      continue;
    }
    seen.set(key, file);
    mappings.push(m);
  }
  return { mappings, errors, files: files.map(displayPath) };
}

/** Loads every mapping under `dir`, or throws a MappingValidationError listing every problem. */
export function loadMappings(
  dir: string,
  transforms: TransformRegistry = new TransformRegistry(),
  only?: string[],
): CompiledMapping[] {
  const { mappings, errors } = loadMappingsDir(dir, transforms, only);
  if (errors.length) throw new MappingValidationError(errors);
  return mappings;
}
