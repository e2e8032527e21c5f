// Public result types of the mapping engine and the compiled form of a mapping file.
import type { CustomerFields, FieldValue } from '../canonical/customer.model';
import type { BoundTransform } from './transforms/transform.registry';
import type { MappingDefinition } from './mapping-file.schema';

export interface MappingIssue {
  /** Canonical field (inbound) or vendor path (outbound); "identity.key" / "timestamp" for record-level ones. */
  field: string;
  message: string;
}

export interface InboundResult {
  /** The vendor's id for the record; null when missing (then there is an issue). */
  externalId: string | null;
  /** The Syncline customer id the vendor record carries in identity.syncIdField, if any. */
  syncId: string | null;
  /** UTC ISO 8601 with ms: the record's own timestamp, or the read time when the mapping has none. */
  sourceTimestamp: string;
  fields: CustomerFields;
  /** Mapped fields whose empty value may erase (feeds IncomingChange.clearable). */
  clearable: string[];
  /** Every problem; non-empty means the caller quarantines the record with all of them. */
  issues: MappingIssue[];
  mappingVersion: number;
}

export interface OutboundResult {
  /** Vendor record with nested paths rebuilt ("properties.email" -> { properties: { email } }). */
  record: Record<string, unknown>;
  issues: MappingIssue[];
  mappingVersion: number;
}

/** One field rule, compiled: a reader over the source record and the bound transform chain. */
export interface CompiledRule {
  readonly target: string;
  readonly targetPath: readonly string[];
  /** Source fields as written; empty for a rule without `from` (e.g. a constant). */
  readonly sources: readonly string[];
  /** Returns ABSENT when no source field is present in the record, so the target is left out. */
  readonly read: (record: Record<string, unknown>) => unknown;
  readonly steps: readonly { readonly name: string; readonly run: BoundTransform }[];
  readonly clearable: boolean;
  /** Canonical value check for inbound targets (standard field schema or JSON scalar). */
  readonly check?: (value: FieldValue) => string | undefined;
}

export interface CompiledMapping {
  readonly connector: string;
  readonly object: string;
  readonly version: number;
  /** File it was loaded from (as reported in errors). */
  readonly file: string;
  readonly definition: MappingDefinition;
  readonly inbound: readonly CompiledRule[];
  readonly outbound: readonly CompiledRule[];
  readonly clearable: readonly string[];
  readonly readExternalId: (record: Record<string, unknown>) => unknown;
  readonly readSyncId?: (record: Record<string, unknown>) => unknown;
  readonly syncIdPath?: readonly string[];
  readonly readTimestamp?: (record: Record<string, unknown>) => unknown;
  readonly timestampOptions: { epoch?: 'ms' | 's'; assumeUtc?: boolean };
}

/** Marker for "the source record does not have this field" (distinct from a null value). */
export const ABSENT: unique symbol = Symbol('absent');
