// Turns a parsed mapping file into closures: every name is resolved, every path split and every
// transform's args validated here, once, so mapping a record is a loop over ready functions.
import {
  CUSTOM_PREFIX,
  isCanonicalField,
  standardFieldSchemas,
  type FieldValue,
  type StandardField,
} from '../canonical/customer.model';
import { compileFlatReader, compileReader, UNSAFE_SEGMENTS } from './field-path';
import type { FieldRuleDefinition, MappingDefinition } from './mapping-file.schema';
import { ABSENT, type CompiledMapping, type CompiledRule } from './mapping.types';
import type { TransformRegistry } from './transforms/transform.registry';

export interface CompileProblem {
  /** Path inside the mapping file, e.g. ["inbound", "phone", "transforms", 0]. */
  path: (string | number)[];
  message: string;
}

type Side = 'inbound' | 'outbound';

export function compileMapping(
  def: MappingDefinition,
  file: string,
  transforms: TransformRegistry,
): { mapping?: CompiledMapping; problems: CompileProblem[] } {
  const problems: CompileProblem[] = [];
  const inbound = compileSide(def, 'inbound', transforms, problems);
  const outbound = compileSide(def, 'outbound', transforms, problems);

  def.required.forEach((field, i) => {
    if (!isCanonicalField(field))
      problems.push({ path: ['required', i], message: `"${field}" is not a canonical field` });
    else if (!(field in def.inbound)) {
      problems.push({ path: ['required', i], message: `"${field}" is required but has no inbound rule` });
    }
  });
  checkPathSafety(def, problems);
  checkTargetConflicts(Object.keys(def.outbound), problems);

  if (problems.length) return { problems };
  const ts =
    def.timestamp === undefined
      ? undefined
      : typeof def.timestamp === 'string'
        ? { from: def.timestamp }
        : def.timestamp;
  const mapping: CompiledMapping = {
    connector: def.connector,
    object: def.object,
    version: def.version,
    file,
    definition: def,
    inbound,
    outbound,
    clearable: inbound.filter((r) => r.clearable).map((r) => r.target),
    readExternalId: compileReader(def.identity.key),
    readSyncId: def.identity.syncIdField ? compileReader(def.identity.syncIdField) : undefined,
    syncIdPath: def.identity.syncIdField?.split('.'),
    readTimestamp: ts ? compileReader(ts.from) : undefined,
    timestampOptions: { epoch: ts?.epoch, assumeUtc: ts?.assumeUtc },
  };
  return { mapping, problems };
}

function compileSide(
  def: MappingDefinition,
  side: Side,
  transforms: TransformRegistry,
  problems: CompileProblem[],
): CompiledRule[] {
  const rules: CompiledRule[] = [];
  for (const [target, rule] of Object.entries(def[side])) {
    const at = [side, target];
    if (side === 'inbound' && !isCanonicalField(target)) {
      problems.push({
        path: at,
        message: `"${target}" is not a canonical field (a standard field or ${CUSTOM_PREFIX}<name>)`,
      });
    }
    if (side === 'outbound' && rule.clearable) {
      problems.push({ path: [...at, 'clearable'], message: 'clearable applies to inbound fields only' });
    }
    const sources = rule.from === undefined ? [] : Array.isArray(rule.from) ? rule.from : [rule.from];
    if (side === 'outbound') {
      sources.forEach((s, i) => {
        if (!isCanonicalField(s)) {
          const p = Array.isArray(rule.from) ? [...at, 'from', i] : [...at, 'from'];
          problems.push({ path: p, message: `"${s}" is not a canonical field` });
        }
      });
    }
    if (sources.length === 0 && rule.transforms.length === 0) {
      problems.push({
        path: at,
        message: 'needs "from" or a transform that makes a value (such as constant)',
      });
    }
    const steps = compileSteps(rule, [...at, 'transforms'], transforms, problems);
    rules.push({
      target,
      targetPath: target.split('.'),
      sources,
      read: compileSources(rule, sources, side),
      steps,
      clearable: rule.clearable,
      check: side === 'inbound' ? valueCheck(target) : undefined,
    });
  }
  return rules;
}

function compileSteps(
  rule: FieldRuleDefinition,
  at: (string | number)[],
  transforms: TransformRegistry,
  problems: CompileProblem[],
): CompiledRule['steps'] {
  const steps: { name: string; run: CompiledRule['steps'][number]['run'] }[] = [];
  rule.transforms.forEach((step, i) => {
    if (typeof step !== 'string' && Object.keys(step).length !== 1) {
      problems.push({ path: [...at, i], message: 'a transform with args is one key: { name: args }' });
      return;
    }
    const [name, args] = typeof step === 'string' ? [step, undefined] : Object.entries(step)[0];
    const bound = transforms.bind(name, args);
    if (bound.ok) steps.push({ name, run: bound.run });
    else {
      for (const p of bound.problems) {
        const argsPath = typeof step === 'string' || !transforms.has(name) ? [] : [name, ...p.path];
        problems.push({ path: [...at, i, ...argsPath], message: p.message });
      }
    }
  });
  return steps;
}

function compileSources(
  rule: FieldRuleDefinition,
  sources: readonly string[],
  side: Side,
): CompiledRule['read'] {
  const reader = side === 'inbound' ? compileReader : compileFlatReader;
  if (sources.length === 0) return () => null;
  if (!Array.isArray(rule.from)) return reader(sources[0]);
  const readers = sources.map(reader);
  // A list source is absent only when every part is; a missing part reads as null.
  return (record) => {
    let any = false;
    const out = readers.map((read) => {
      const v = read(record);
      if (v === ABSENT) return null;
      any = true;
      return v;
    });
    return any ? out : ABSENT;
  };
}

function valueCheck(target: string): ((v: FieldValue) => string | undefined) | undefined {
  if (!(target in standardFieldSchemas)) return undefined;
  const schema = standardFieldSchemas[target as StandardField];
  return (v) => {
    const r = schema.safeParse(v);
    return r.success ? undefined : `invalid value for ${target}: ${r.error.issues[0]?.message ?? 'rejected'}`;
  };
}

function checkPathSafety(def: MappingDefinition, problems: CompileProblem[]): void {
  const check = (path: string | undefined, at: (string | number)[]) => {
    if (path && path.split('.').some((s) => UNSAFE_SEGMENTS.has(s))) {
      problems.push({ path: at, message: `"${path}" uses a reserved name as a path segment` });
    }
  };
  check(def.identity.key, ['identity', 'key']);
  check(def.identity.syncIdField, ['identity', 'syncIdField']);
  for (const target of Object.keys(def.outbound)) check(target, ['outbound', target]);
  for (const [target, rule] of Object.entries(def.inbound)) {
    for (const s of rule.from === undefined ? [] : [rule.from].flat()) check(s, ['inbound', target, 'from']);
  }
}

/** "properties" and "properties.email" cannot both be written: one would overwrite the other. */
function checkTargetConflicts(targets: string[], problems: CompileProblem[]): void {
  const set = new Set(targets);
  for (const t of targets) {
    const parts = t.split('.');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('.');
      if (set.has(prefix))
        problems.push({ path: ['outbound', t], message: `conflicts with outbound field "${prefix}"` });
    }
  }
}
