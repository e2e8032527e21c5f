/**
 * In-memory Contact and Lead tables: compact rows (arrays in schema slot order), an index sorted by
 * (SystemModstamp, Id) that is re-sorted only after changes, external-id lookup, soft deletes with their
 * delete log, and transactions that can roll back (allOrNone). It validates writes the way Salesforce does
 * and reports per-record errors; it knows nothing about HTTP.
 */
import { RecordError } from './salesforce-errors';
import { IdFactory, KeyPrefix, normalizeId } from './salesforce-ids';
import { SandboxClock } from './salesforce-clock';
import {
  EXTERNAL_ID_FIELD,
  FieldDef,
  ObjectSchema,
  Row,
  SCHEMAS,
  SLOT_CREATED,
  SLOT_ID,
  SLOT_IS_DELETED,
  SLOT_LAST_MODIFIED,
  SLOT_MODSTAMP,
  SObjectName,
  SOBJECT_NAMES,
  Value,
} from './salesforce-schema';

export type ChangeKind = 'created' | 'updated' | 'deleted';
export interface ChangeEvent {
  object: SObjectName;
  kind: ChangeKind;
  row: Row;
}

class Table {
  readonly byId = new Map<string, Row>();
  /** Every row (deleted ones too), ordered by (SystemModstamp, Id) unless `dirty`. */
  private index: Row[] = [];
  private dirty = false;
  /** Lower-cased external id -> record id (external ids are case-insensitive by default). */
  readonly byExternalId = new Map<string, string>();
  /** Record id -> deletion time, the delete log getDeleted reads. */
  readonly deletedAt = new Map<string, number>();
  readonly extSlot: number;

  constructor(readonly schema: ObjectSchema) {
    this.extSlot = (schema.byLowerName.get(EXTERNAL_ID_FIELD.toLowerCase()) as FieldDef).slot;
  }

  sorted(): Row[] {
    if (this.dirty) {
      // Mostly-sorted input (old order plus a few moved rows) makes V8's TimSort close to linear.
      this.index.sort(compareIndex);
      this.dirty = false;
    }
    return this.index;
  }

  add(row: Row): void {
    this.byId.set(row[SLOT_ID] as string, row);
    this.index.push(row);
    this.dirty = true;
    const ext = row[this.extSlot];
    if (typeof ext === 'string') this.byExternalId.set(ext.toLowerCase(), row[SLOT_ID] as string);
  }

  remove(row: Row): void {
    const id = row[SLOT_ID] as string;
    this.byId.delete(id);
    this.index = this.index.filter((r) => r !== row);
    const ext = row[this.extSlot];
    if (typeof ext === 'string' && this.byExternalId.get(ext.toLowerCase()) === id)
      this.byExternalId.delete(ext.toLowerCase());
  }

  /** Physically removes rows (recycle bin purge) in one pass over the index. */
  purge(rows: Set<Row>): void {
    for (const row of rows) {
      this.byId.delete(row[SLOT_ID] as string);
      this.deletedAt.delete(row[SLOT_ID] as string);
    }
    this.index = this.index.filter((r) => !rows.has(r));
  }

  touched(): void {
    this.dirty = true;
  }

  clear(): void {
    this.byId.clear();
    this.index = [];
    this.byExternalId.clear();
    this.deletedAt.clear();
    this.dirty = false;
  }
}

function compareIndex(a: Row, b: Row): number {
  const d = (a[SLOT_MODSTAMP] as number) - (b[SLOT_MODSTAMP] as number);
  if (d !== 0) return d;
  const x = a[SLOT_ID] as string;
  const y = b[SLOT_ID] as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Salesforce keeps datetimes to the second, which is also why many records share a SystemModstamp. */
export const toSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface Tx {
  undo: Array<() => void>;
  events: ChangeEvent[];
}

export type WriteResult = { ok: true; row: Row; created: boolean } | { ok: false; errors: RecordError[] };

export class SalesforceStore {
  readonly tables: Record<SObjectName, Table>;
  readonly ids = new IdFactory();
  /** Account id -> name; Contacts point at these through AccountId (Account.Name in SOQL). */
  readonly accounts = new Map<string, string>();
  private readonly accountByName = new Map<string, string>();
  private tx: Tx | undefined;
  onChange: (e: ChangeEvent) => void = () => undefined;

  constructor(readonly clock: SandboxClock) {
    this.tables = { Contact: new Table(SCHEMAS.Contact), Lead: new Table(SCHEMAS.Lead) };
  }

  table(object: SObjectName): Table {
    return this.tables[object];
  }

  clear(): void {
    for (const name of SOBJECT_NAMES) this.tables[name].clear();
    this.accounts.clear();
    this.accountByName.clear();
    this.ids.reset();
  }

  /** Finds a record of any object by id (the admin surface does not say which object). */
  locate(id: string): { object: SObjectName; row: Row } | undefined {
    const full = normalizeId(id);
    if (!full) return undefined;
    for (const object of SOBJECT_NAMES) {
      const row = this.tables[object].byId.get(full);
      if (row) return { object, row };
    }
    return undefined;
  }

  accountFor(company: string): string {
    const key = company.trim().toLowerCase();
    let id = this.accountByName.get(key);
    if (!id) {
      id = this.ids.next(KeyPrefix.Account);
      this.accountByName.set(key, id);
      this.accounts.set(id, company.trim());
    }
    return id;
  }

  /** Raw insert for seeding: no validation, caller-chosen timestamps, no change event. */
  seedRow(
    object: SObjectName,
    values: Record<string, Value>,
    created: number,
    modified: number,
    systemModstamp = modified,
  ): Row {
    const schema = SCHEMAS[object];
    const row: Row = new Array(schema.width).fill(null);
    for (const f of schema.fields)
      if (f.slot >= 0 && f.defaultValue !== undefined) row[f.slot] = f.defaultValue;
    for (const [name, v] of Object.entries(values)) {
      const f = schema.byLowerName.get(name.toLowerCase());
      if (f && f.slot >= 0) row[f.slot] = v;
    }
    row[SLOT_ID] = this.ids.next(schema.keyPrefix);
    row[SLOT_IS_DELETED] = false;
    row[SLOT_CREATED] = created;
    row[SLOT_LAST_MODIFIED] = modified;
    row[SLOT_MODSTAMP] = systemModstamp;
    this.tables[object].add(row);
    return row;
  }

  /** Seeding a record that is already in the recycle bin. */
  seedDelete(object: SObjectName, id: string, at: number): void {
    const table = this.tables[object];
    const row = table.byId.get(id);
    if (!row) return;
    row[SLOT_IS_DELETED] = true;
    row[SLOT_MODSTAMP] = at;
    table.deletedAt.set(id, at);
    const ext = row[table.extSlot];
    if (typeof ext === 'string') table.byExternalId.delete(ext.toLowerCase());
    table.touched();
  }

  /** Runs `fn` as one transaction; with rollback, every change made inside is undone and no events fire. */
  transaction<T>(fn: (commitOrRollback: { rollback(): void }) => T): T {
    const outer = this.tx;
    const tx: Tx = { undo: [], events: [] };
    this.tx = tx;
    let rolledBack = false;
    try {
      return fn({
        rollback: () => {
          for (const u of tx.undo.reverse()) u();
          tx.undo = [];
          tx.events = [];
          rolledBack = true;
        },
      });
    } finally {
      this.tx = outer;
      if (!rolledBack) {
        if (outer) {
          outer.undo.push(...tx.undo);
          outer.events.push(...tx.events);
        } else {
          for (const e of tx.events) this.onChange(e);
        }
      }
    }
  }

  private record(undo: () => void, event: ChangeEvent): void {
    if (this.tx) {
      this.tx.undo.push(undo);
      this.tx.events.push(event);
    } else {
      this.onChange(event);
    }
  }

  /**
   * Validates and coerces a JSON body the way the REST API does: unknown and read-only fields, types,
   * lengths, email format, required fields on create, external id uniqueness.
   */
  validate(
    object: SObjectName,
    body: Record<string, unknown>,
    existing: Row | undefined,
  ): { errors: RecordError[]; values: Map<FieldDef, Value> } {
    const schema = SCHEMAS[object];
    const table = this.tables[object];
    const errors: RecordError[] = [];
    const values = new Map<FieldDef, Value>();
    for (const [name, raw] of Object.entries(body)) {
      if (name === 'attributes') continue;
      const f = schema.byLowerName.get(name.toLowerCase());
      if (!f) {
        errors.push({
          statusCode: 'INVALID_FIELD',
          message: `No such column '${name}' on sobject of type ${object}`,
          fields: [],
        });
        continue;
      }
      if (f.type === 'id') continue; // the id in the body only identifies the record
      const writable = existing ? f.updateable : f.createable;
      if (!writable) {
        errors.push({
          statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
          message: `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          fields: [f.name],
        });
        continue;
      }
      const v = this.coerce(f, raw, errors);
      if (v !== undefined) values.set(f, v);
    }
    if (errors.length) return { errors, values };
    const missing = schema.fields.filter((f) => {
      if (!f.required) return false;
      if (values.has(f)) return values.get(f) === null;
      return !existing;
    });
    if (missing.length) {
      errors.push({
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`,
        fields: missing.map((f) => f.name),
      });
    }
    const extField = schema.byLowerName.get(EXTERNAL_ID_FIELD.toLowerCase()) as FieldDef;
    const ext = values.get(extField);
    if (typeof ext === 'string') {
      const owner = table.byExternalId.get(ext.toLowerCase());
      if (owner && owner !== existing?.[SLOT_ID]) {
        errors.push({
          statusCode: 'DUPLICATE_VALUE',
          message: `duplicate value found: ${EXTERNAL_ID_FIELD} duplicates value on record with id: ${owner}`,
          fields: [EXTERNAL_ID_FIELD],
        });
      }
    }
    return { errors, values };
  }

  private coerce(f: FieldDef, raw: unknown, errors: RecordError[]): Value | undefined {
    if (raw === null || raw === '') {
      if (f.type === 'boolean') {
        errors.push({
          statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
          message: `${f.label}: value not of required type: ${String(raw)}`,
          fields: [f.name],
        });
        return undefined;
      }
      return null;
    }
    if (f.type === 'boolean') {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      errors.push({
        statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
        message: `${f.label}: value not of required type: ${String(raw)}`,
        fields: [f.name],
      });
      return undefined;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      errors.push({
        statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
        message: `${f.label}: value not of required type: ${JSON.stringify(raw)}`,
        fields: [f.name],
      });
      return undefined;
    }
    let s = String(raw);
    if (f.type === 'email') {
      s = s.trim();
      if (!EMAIL_RE.test(s)) {
        errors.push({
          statusCode: 'INVALID_EMAIL_ADDRESS',
          message: `${f.label}: invalid email address: ${s}`,
          fields: [f.name],
        });
        return undefined;
      }
    }
    if (f.type === 'reference') {
      const id = normalizeId(s);
      if (!id || !this.accounts.has(id)) {
        errors.push({
          statusCode: 'INVALID_CROSS_REFERENCE_KEY',
          message: `${f.label}: id value of incorrect type: ${s}`,
          fields: [f.name],
        });
        return undefined;
      }
      return id;
    }
    if (s.length > f.length) {
      errors.push({
        statusCode: 'STRING_TOO_LONG',
        message: `${f.label}: data value too large: ${s.slice(0, 40)} (max length=${f.length})`,
        fields: [f.name],
      });
      return undefined;
    }
    return s;
  }

  create(object: SObjectName, body: Record<string, unknown>, at: number): WriteResult {
    const { errors, values } = this.validate(object, body, undefined);
    if (errors.length) return { ok: false, errors };
    const schema = SCHEMAS[object];
    const row: Row = new Array(schema.width).fill(null);
    for (const f of schema.fields)
      if (f.slot >= 0 && f.defaultValue !== undefined) row[f.slot] = f.defaultValue;
    for (const [f, v] of values) row[f.slot] = v;
    row[SLOT_ID] = this.ids.next(schema.keyPrefix);
    row[SLOT_IS_DELETED] = false;
    const stamp = toSecond(at);
    row[SLOT_CREATED] = stamp;
    row[SLOT_LAST_MODIFIED] = stamp;
    row[SLOT_MODSTAMP] = stamp;
    const table = this.tables[object];
    table.add(row);
    this.record(() => table.remove(row), { object, kind: 'created', row });
    return { ok: true, row, created: true };
  }

  update(
    object: SObjectName,
    row: Row,
    body: Record<string, unknown>,
    at: number,
    opts: { systemOnly?: boolean } = {},
  ): WriteResult {
    const { errors, values } = this.validate(object, body, row);
    if (errors.length) return { ok: false, errors };
    return { ok: true, row: this.apply(object, row, values, at, opts), created: false };
  }

  /** Writes already-validated values and moves the timestamps (LastModifiedDate only for user changes). */
  apply(
    object: SObjectName,
    row: Row,
    values: Map<FieldDef, Value>,
    at: number,
    opts: { systemOnly?: boolean } = {},
  ): Row {
    const table = this.tables[object];
    const before = row.slice();
    const extBefore = row[table.extSlot];
    for (const [f, v] of values) row[f.slot] = v;
    const stamp = toSecond(at);
    row[SLOT_MODSTAMP] = stamp;
    if (!opts.systemOnly) row[SLOT_LAST_MODIFIED] = stamp;
    this.reindexExternalId(table, row, extBefore);
    table.touched();
    this.record(
      () => {
        const extNow = row[table.extSlot];
        for (let i = 0; i < before.length; i++) row[i] = before[i];
        this.reindexExternalId(table, row, extNow);
        table.touched();
      },
      { object, kind: 'updated', row },
    );
    return row;
  }

  private reindexExternalId(table: Table, row: Row, previous: Value): void {
    const now = row[table.extSlot];
    if (previous === now) return;
    if (typeof previous === 'string') table.byExternalId.delete(previous.toLowerCase());
    if (typeof now === 'string') table.byExternalId.set(now.toLowerCase(), row[SLOT_ID] as string);
  }

  /** Moves the record to the recycle bin: queryAll still sees it, query and lookups do not. */
  softDelete(object: SObjectName, row: Row, at: number): void {
    const table = this.tables[object];
    const stamp = toSecond(at);
    const before = row.slice();
    row[SLOT_IS_DELETED] = true;
    row[SLOT_MODSTAMP] = stamp;
    table.deletedAt.set(row[SLOT_ID] as string, stamp);
    const ext = row[table.extSlot];
    // The unique external id is freed so a new record may take it, as after a real delete
    if (typeof ext === 'string') table.byExternalId.delete(ext.toLowerCase());
    table.touched();
    this.record(
      () => {
        for (let i = 0; i < before.length; i++) row[i] = before[i];
        table.deletedAt.delete(row[SLOT_ID] as string);
        if (typeof ext === 'string') table.byExternalId.set(ext.toLowerCase(), row[SLOT_ID] as string);
        table.touched();
      },
      { object, kind: 'deleted', row },
    );
  }

  /**
   * Empties one record from the recycle bin (emptyRecycleBin): the row is gone for good, no queryAll or undelete
   * finds it again. The delete log keeps its id and deletion time, which getDeleted still reports.
   */
  hardDelete(object: SObjectName, row: Row): void {
    const table = this.tables[object];
    table.remove(row);
    table.touched();
    row.fill(null);
  }

  findByExternalId(object: SObjectName, value: string): Row | undefined {
    const table = this.tables[object];
    const id = table.byExternalId.get(value.toLowerCase());
    const row = id ? table.byId.get(id) : undefined;
    return row && row[SLOT_IS_DELETED] === false ? row : undefined;
  }
}
