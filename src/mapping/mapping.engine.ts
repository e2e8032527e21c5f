// Applies a compiled mapping to one record, in either direction. Pure and synchronous; runs per record
// on the hot path, so it only calls the closures the compiler prepared. It never drops a problem:
// every failed transform or missing required field becomes an issue for the caller to quarantine on.
import { isEmpty } from '../canonical/merge-rules';
import type { CustomerFields, FieldValue } from '../canonical/customer.model';
import { compileReader, setPath } from './field-path';
import {
  ABSENT,
  type CompiledMapping,
  type CompiledRule,
  type InboundResult,
  type MappingIssue,
  type OutboundResult,
} from './mapping.types';
import { toIsoDateTime } from './transforms/date.transforms';
import type { TransformContext } from './transforms/transform.types';

export interface InboundOptions {
  /** When the record was read; the source timestamp when the mapping names no timestamp field. */
  readAt?: Date | string;
}

export interface OutboundOptions {
  /** Canonical customer id, written to identity.syncIdField when the mapping has one. */
  customerId?: string;
}

const pathReaders = new Map<string, (r: Record<string, unknown>) => unknown>();

function vendorGet(record: Record<string, unknown>, path: string): unknown {
  let read = pathReaders.get(path);
  if (!read) {
    read = compileReader(path);
    pathReaders.set(path, read);
  }
  const v = read(record);
  return v === ABSENT ? undefined : v;
}

function runSteps(
  rule: CompiledRule,
  value: unknown,
  ctx: TransformContext,
  issues: MappingIssue[],
  field: string,
): unknown {
  let v = value;
  for (const step of rule.steps) {
    try {
      v = step.run(v, ctx);
    } catch (e) {
      issues.push({ field, message: `${step.name}: ${e instanceof Error ? e.message : String(e)}` });
      return ABSENT;
    }
  }
  return v === undefined ? null : v;
}

function isScalar(v: unknown): v is FieldValue {
  return (
    v === null ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v))
  );
}

export function mapInbound(
  mapping: CompiledMapping,
  record: Record<string, unknown>,
  options: InboundOptions = {},
): InboundResult {
  const issues: MappingIssue[] = [];
  const fields: CustomerFields = {};
  const ctx: TransformContext = { direction: 'inbound', get: (path) => vendorGet(record, path) };

  for (const rule of mapping.inbound) {
    const raw = rule.read(record);
    if (raw === ABSENT) continue;
    const v = runSteps(rule, raw, ctx, issues, rule.target);
    if (v === ABSENT) continue;
    if (!isScalar(v)) {
      issues.push({
        field: rule.target,
        message: `${describe(v)} is not a single value (reduce it with a transform such as join)`,
      });
      continue;
    }
    if (rule.check && !isEmpty(v)) {
      const problem = rule.check(v);
      if (problem) {
        issues.push({ field: rule.target, message: problem });
        continue;
      }
    }
    fields[rule.target] = v;
  }

  for (const field of mapping.definition.required) {
    if (isEmpty(fields[field]) && !issues.some((i) => i.field === field)) {
      issues.push({ field, message: 'required field is missing or empty' });
    }
  }

  const externalId = idText(mapping.readExternalId(record));
  if (externalId === null)
    issues.push({ field: 'identity.key', message: `record has no ${mapping.definition.identity.key}` });
  const syncId = mapping.readSyncId ? idText(mapping.readSyncId(record)) : null;

  let sourceTimestamp: string | null = null;
  if (mapping.readTimestamp) {
    const raw = mapping.readTimestamp(record);
    try {
      sourceTimestamp = raw === ABSENT ? null : toIsoDateTime(raw, mapping.timestampOptions);
    } catch (e) {
      issues.push({ field: 'timestamp', message: (e as Error).message });
    }
  }
  if (sourceTimestamp === null) {
    const readAt = options.readAt ?? new Date();
    sourceTimestamp = typeof readAt === 'string' ? (toIsoDateTime(readAt) as string) : readAt.toISOString();
  }

  return {
    externalId,
    syncId,
    sourceTimestamp,
    fields,
    clearable: mapping.clearable.filter((f) => f in fields),
    issues,
    mappingVersion: mapping.version,
  };
}

export function mapOutbound(
  mapping: CompiledMapping,
  fields: CustomerFields,
  options: OutboundOptions = {},
): OutboundResult {
  const issues: MappingIssue[] = [];
  const record: Record<string, unknown> = {};
  const ctx: TransformContext = {
    direction: 'outbound',
    get: (field) => (Object.prototype.hasOwnProperty.call(fields, field) ? fields[field] : undefined),
  };

  for (const rule of mapping.outbound) {
    const raw = rule.read(fields);
    if (raw === ABSENT) continue; // never write a default over the vendor's value for a field we do not have
    const v = runSteps(rule, raw, ctx, issues, rule.target);
    if (v === ABSENT) continue;
    setPath(record, rule.targetPath, v);
  }
  if (mapping.syncIdPath && options.customerId !== undefined)
    setPath(record, mapping.syncIdPath, options.customerId);

  return { record, issues, mappingVersion: mapping.version };
}

function idText(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : String(v);
}

export interface RoundTripReport {
  /** Vendor paths mapped both ways, present in the input but missing from the rebuilt record. */
  lost: string[];
  /** Vendor paths mapped both ways whose rebuilt value differs from the input (normalization shows up here). */
  changed: { path: string; before: unknown; after: unknown }[];
  /** Canonical fields that differ after a second inbound pass: the mapping is not stable. */
  drift: { field: string; first: FieldValue; second: FieldValue | undefined }[];
  issues: MappingIssue[];
}

/**
 * vendor -> canonical -> vendor -> canonical. A good mapping loses nothing, is stable on the second
 * pass, and changes nothing for a record that is already normalized.
 */
export function checkRoundTrip(mapping: CompiledMapping, record: Record<string, unknown>): RoundTripReport {
  const first = mapInbound(mapping, record, { readAt: '1970-01-01T00:00:00.000Z' });
  const out = mapOutbound(mapping, first.fields);
  const both = mapping.outbound
    .map((r) => r.target)
    .filter((t) => mapping.inbound.some((r) => r.sources.includes(t)));
  const lost: string[] = [];
  const changed: RoundTripReport['changed'] = [];
  for (const path of both) {
    const before = vendorGet(record, path);
    if (before === undefined) continue;
    const after = vendorGet(out.record, path);
    if (after === undefined) lost.push(path);
    else if (!sameValue(before, after)) changed.push({ path, before, after });
  }
  const second = mapInbound(mapping, mergeDeep(structuredClone(record), out.record), {
    readAt: '1970-01-01T00:00:00.000Z',
  });
  const drift: RoundTripReport['drift'] = [];
  for (const [field, value] of Object.entries(first.fields)) {
    if (second.fields[field] !== value) drift.push({ field, first: value, second: second.fields[field] });
  }
  return { lost, changed, drift, issues: [...first.issues, ...out.issues, ...second.issues] };
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** The rebuilt record laid over the original, as the vendor would hold it after the write. */
function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    const cur = base[k];
    if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      cur &&
      typeof cur === 'object' &&
      !Array.isArray(cur)
    ) {
      mergeDeep(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else base[k] = v;
  }
  return base;
}
