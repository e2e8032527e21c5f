// The merge rules: the one place that decides, field by field, whether an incoming value from a source
// replaces the stored one. Everything idempotent in Syncline rests on this being a pure function.
//
//   1. a newer source timestamp wins; an older one never overwrites (out-of-order delivery is normal);
//   2. equal timestamps fall back to the configured connection priority (per field, then overall), and within
//      one connection to the higher source record id (the same record re-sending wins), so replaying the
//      records of a customer merged from several records of one source changes nothing;
//   3. null or empty never overwrites a value unless the mapping marks the field clearable;
//   4. a change that alters no value yields no FieldChange (so no version, no history, no audit entry);
//   5. an opt-out (OPT_OUTS) from one source beats the opposite value from any other, whatever the times: only
//      the source that holds it lifts it (see below).
import { EmailConsent, type CustomerFields, type FieldValue, type Provenance } from './customer.model';

/**
 * Fields whose restrictive value is sticky across sources, as Salesforce and HubSpot keep an opt-out when they
 * merge duplicates. Source timestamps are per record (Salesforce's LastModifiedDate), so without this a person
 * who opted out on one record was subscribed again by any later edit of a duplicate record (a mass update of first
 * names did it to dozens in a 1,000,000-contact run), or by a merge with a newer duplicate that never opted out.
 * Lifting it takes the same source: the same connection and record (or an event stream, which has no record).
 */
const OPT_OUTS: Readonly<Record<string, FieldValue>> = { emailConsent: EmailConsent.Unsubscribed };

export interface IncomingChange {
  connection: string;
  /** The source's timestamp for the record (ISO 8601). */
  sourceTimestamp: string;
  /** Per-field source timestamps where the source has them (e.g. HubSpot property history). */
  fieldTimestamps?: Record<string, string>;
  /** The source record (its id in that connection) the values come from, when there is one. */
  record?: string;
  fields: CustomerFields;
  /** Fields whose empty value may erase a stored value (the mapping says so). */
  clearable?: Iterable<string>;
}

export interface ConnectionPriority {
  /** Connections in descending priority; unlisted connections rank below all listed ones. */
  default: string[];
  fields?: Record<string, string[]>;
}

export interface FieldChange {
  field: string;
  before: FieldValue;
  after: FieldValue;
}

export interface MergeResult {
  fields: CustomerFields;
  provenance: Provenance;
  /** Value changes only; empty means nothing the customer can see changed. */
  changes: FieldChange[];
  /** True when provenance moved forward without a value change (same value, newer source time). */
  provenanceAdvanced: boolean;
}

export function isEmpty(v: FieldValue | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

function toMillis(ts: string): number {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) throw new RangeError(`invalid source timestamp "${ts}"`);
  return ms;
}

/** toMillis remembering its last text (one for incoming times, one for stored ones: they alternate per field). */
function lastParsed(): (ts: string) => number {
  let text: string | undefined;
  let ms = 0;
  return (ts) => {
    if (ts !== text) {
      ms = toMillis(ts);
      text = ts;
    }
    return ms;
  };
}

/** Negative when a ranks above b. Unlisted connections rank last, then by id so the outcome is deterministic. */
export function comparePriority(field: string, a: string, b: string, priority: ConnectionPriority): number {
  const order = priority.fields?.[field] ?? priority.default;
  const rank = (c: string) => {
    const i = order.indexOf(c);
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function mergeFields(
  current: { fields: CustomerFields; provenance: Provenance } | null,
  incoming: IncomingChange,
  priority: ConnectionPriority = { default: [] },
): MergeResult {
  const fields: CustomerFields = { ...(current?.fields ?? {}) };
  const provenance: Provenance = { ...(current?.provenance ?? {}) };
  const clearable = new Set(incoming.clearable ?? []);
  const changes: FieldChange[] = [];
  let provenanceAdvanced = false;
  // A record's fields mostly share one source time, and a customer's stored provenance a few: parse each text and
  // format each instant once per call, not once per field (both showed in full-sync profiles).
  const incomingMillis = lastParsed();
  const storedMillis = lastParsed();
  let formattedMs: number | undefined;
  let formatted = '';
  const stampAt = (atMs: number): Provenance[string] => {
    if (atMs !== formattedMs) {
      formatted = new Date(atMs).toISOString();
      formattedMs = atMs;
    }
    return incoming.record === undefined
      ? { connection: incoming.connection, at: formatted }
      : { connection: incoming.connection, at: formatted, record: incoming.record };
  };

  for (const [field, raw] of Object.entries(incoming.fields)) {
    const value: FieldValue = raw === undefined ? null : raw;
    const at = incoming.fieldTimestamps?.[field] ?? incoming.sourceTimestamp;
    const atMs = incomingMillis(at);
    const before = field in fields ? fields[field] : null;
    const prov = provenance[field];

    if (isEmpty(value) && !clearable.has(field)) continue;

    const optOut = OPT_OUTS[field];
    let optingOut = false;
    if (optOut !== undefined && prov) {
      const sameSource =
        prov.connection === incoming.connection &&
        (prov.record === undefined || incoming.record === undefined || prov.record === incoming.record);
      if (!sameSource) {
        if (before === optOut && value !== optOut) continue;
        optingOut = value === optOut && before !== optOut;
      }
    }

    if (prov && !optingOut) {
      const storedMs = storedMillis(prov.at);
      if (atMs < storedMs) continue;
      if (atMs === storedMs) {
        if (prov.connection !== incoming.connection) {
          if (comparePriority(field, incoming.connection, prov.connection, priority) > 0) continue;
        } else if (
          prov.record !== undefined &&
          incoming.record !== undefined &&
          incoming.record < prov.record
        ) {
          continue;
        }
      }
    }

    const after = isEmpty(value) ? null : value;
    if (before === after || (isEmpty(before) && after === null)) {
      // Same value: remember the newer source time (or the winning record) so an older write from elsewhere
      // cannot sneak in later.
      const sameProvenance =
        prov &&
        prov.connection === incoming.connection &&
        storedMillis(prov.at) === atMs &&
        (prov.record === undefined || incoming.record === undefined || prov.record === incoming.record);
      if (!sameProvenance && after !== null) {
        provenance[field] = stampAt(atMs);
        provenanceAdvanced = true;
      }
      continue;
    }

    if (after === null) delete fields[field];
    else fields[field] = after;
    provenance[field] = stampAt(atMs);
    changes.push({ field, before, after });
  }

  return { fields, provenance, changes, provenanceAdvanced };
}
