/**
 * The emulated REST API under /services/data/vNN.0: query/queryAll with server-side cursors, sObject
 * describe/get/create/update/delete/upsert, updated/deleted replication, sObject Collections, limits.
 * Request-level failures are thrown as SfApiError and rendered as [{message, errorCode, fields}].
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { RecordError, SfApiError, notFound } from './salesforce-errors';
import { SalesforceAuth } from './salesforce-auth';
import { formatSfDateTime, parseSfDateTime } from './salesforce-clock';
import { IdFactory, KeyPrefix, normalizeId } from './salesforce-ids';
import { SalesforceStore, WriteResult, toSecond } from './salesforce-store';
import { CompiledQuery, SelectItem, compileSoql, parseSoql } from './soql';
import {
  EXTERNAL_ID_FIELD,
  ObjectSchema,
  Row,
  SCHEMAS,
  SLOT_ID,
  SLOT_IS_DELETED,
  SLOT_MODSTAMP,
  SOBJECT_NAMES,
  SObjectName,
  describeObject,
  schemaFor,
} from './salesforce-schema';

export const MAX_COLLECTION_RECORDS = 200;
export const DEFAULT_BATCH_SIZE = 2000;
/** Salesforce keeps at most 10 open query cursors per user and drops the oldest. */
export const MAX_OPEN_CURSORS = 10;
const CURSOR_IDLE_MS = 15 * 60_000;
const UPDATED_WINDOW_MS = 30 * 86_400_000;
export const DELETED_WINDOW_MS = 15 * 86_400_000;
const MAX_UPDATED_IDS = 600_000;
const ROLLED_BACK: RecordError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

interface Cursor {
  query: CompiledQuery;
  rows: Row[];
  lastUsed: number;
}

export interface ApiLimits {
  dailyApiLimit: number;
  used: number;
  /** Day (UTC, sandbox clock) the usage counts for; a new day starts from zero. */
  day: number;
}

export class SalesforceApi {
  readonly limits: ApiLimits;
  private readonly cursors = new Map<string, Cursor>();
  private readonly cursorIds = new IdFactory();

  constructor(
    private readonly store: SalesforceStore,
    private readonly auth: SalesforceAuth,
    dailyApiLimit: number,
  ) {
    this.limits = { dailyApiLimit, used: 0, day: this.today() };
  }

  private now(): number {
    return this.store.clock.now();
  }

  private today(): number {
    return Math.floor(this.store.clock.now() / 86_400_000);
  }

  reset(): void {
    this.cursors.clear();
    this.limits.used = 0;
    this.limits.day = this.today();
  }

  /** One API request against the daily budget (REST and SOAP share it); also runs the recycle bin's 15-day purge. */
  meter(res: Response): void {
    if (this.today() !== this.limits.day) {
      this.limits.day = this.today();
      this.limits.used = 0;
    }
    this.limits.used++;
    res.setHeader('Sforce-Limit-Info', `api-usage=${this.limits.used}/${this.limits.dailyApiLimit}`);
    if (this.limits.used > this.limits.dailyApiLimit)
      throw new SfApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    this.purgeRecycleBin();
  }

  router(): Router {
    const r = express.Router();
    r.use((req, res, next) => {
      this.auth.requireBearer(req);
      this.meter(res);
      next();
    });
    r.use(express.json({ limit: '50mb', type: () => true }));

    r.get('/:version', (req, res) => {
      const base = `/services/data/${this.version(req, true)}`;
      res.json({
        limits: `${base}/limits`,
        sobjects: `${base}/sobjects`,
        query: `${base}/query`,
        queryAll: `${base}/queryAll`,
        composite: `${base}/composite`,
      });
    });
    r.get('/:version/limits', (req, res) => {
      this.version(req);
      res.json({
        DailyApiRequests: {
          Max: this.limits.dailyApiLimit,
          Remaining: Math.max(0, this.limits.dailyApiLimit - this.limits.used),
        },
      });
    });
    r.get('/:version/sobjects', (req, res) => {
      const v = this.version(req);
      res.json({
        encoding: 'UTF-8',
        maxBatchSize: MAX_COLLECTION_RECORDS,
        sobjects: SOBJECT_NAMES.map((n) => {
          const d = describeObject(SCHEMAS[n], v);
          const { fields: _f, childRelationships: _c, recordTypeInfos: _r, ...rest } = d;
          return rest;
        }),
      });
    });
    r.get('/:version/sobjects/:type', (req, res) => {
      const v = this.version(req);
      const schema = this.schema(req);
      const {
        fields: _f,
        childRelationships: _c,
        recordTypeInfos: _r,
        ...objectDescribe
      } = describeObject(schema, v);
      const recent = this.store
        .table(schema.name)
        .sorted()
        .filter((row) => row[SLOT_IS_DELETED] === false)
        .slice(-3)
        .reverse()
        .map((row) => this.renderRow(schema, row, [{ field: schema.fields[0] }], v));
      res.json({ objectDescribe, recentItems: recent });
    });
    r.post('/:version/sobjects/:type', (req, res) => {
      const schema = this.schema(req);
      const body = this.objectBody(req);
      if ('Id' in body || 'id' in body)
        throw new SfApiError(400, 'INVALID_FIELD', 'Id not allowed in an insert call', ['Id']);
      const result = this.store.create(schema.name, body, this.now());
      if (!result.ok) throw recordFailure(result.errors);
      res.status(201).json({ id: result.row[SLOT_ID], success: true, errors: [] });
    });
    r.get('/:version/sobjects/:type/describe', (req, res) => {
      res.json(describeObject(this.schema(req), this.version(req)));
    });
    r.get('/:version/sobjects/:type/updated', (req, res) => {
      const schema = this.schema(req);
      this.version(req);
      const { start, end } = this.replicationWindow(req, UPDATED_WINDOW_MS);
      const ids: string[] = [];
      for (const row of this.store.table(schema.name).sorted()) {
        const stamp = row[SLOT_MODSTAMP] as number;
        if (stamp >= start && stamp < end && row[SLOT_IS_DELETED] === false) ids.push(row[SLOT_ID] as string);
      }
      if (ids.length > MAX_UPDATED_IDS)
        throw new SfApiError(
          400,
          'EXCEEDED_ID_LIMIT',
          'Too many ids to return; choose start and end dates that are closer together',
        );
      res.json({ ids, latestDateCovered: formatSfDateTime(end) });
    });
    r.get('/:version/sobjects/:type/deleted', (req, res) => {
      const schema = this.schema(req);
      this.version(req);
      const { start, end } = this.replicationWindow(req, DELETED_WINDOW_MS);
      const table = this.store.table(schema.name);
      const deletedRecords = [...table.deletedAt]
        .filter(([, at]) => at >= start && at < end)
        .sort((a, b) => a[1] - b[1])
        .map(([id, at]) => ({ id, deletedDate: formatSfDateTime(at) }));
      res.json({
        deletedRecords,
        earliestDateAvailable: formatSfDateTime(this.earliestDeletedAvailable()),
        latestDateCovered: formatSfDateTime(end),
      });
    });
    r.get('/:version/sobjects/:type/:id', (req, res) => {
      const v = this.version(req);
      const schema = this.schema(req);
      const row = this.liveRow(schema, String(req.params.id));
      const fieldsParam = typeof req.query.fields === 'string' ? req.query.fields : undefined;
      const select = fieldsParam ? this.selectFromList(schema, fieldsParam) : allFields(schema);
      res.json(this.renderRow(schema, row, select, v));
    });
    r.patch('/:version/sobjects/:type/:id', (req, res) => {
      const schema = this.schema(req);
      const row = this.liveRow(schema, String(req.params.id));
      const result = this.store.update(schema.name, row, this.objectBody(req), this.now());
      if (!result.ok) throw recordFailure(result.errors);
      res.status(204).end();
    });
    r.delete('/:version/sobjects/:type/:id', (req, res) => {
      const schema = this.schema(req);
      const row = this.liveRow(schema, String(req.params.id));
      this.store.softDelete(schema.name, row, this.now());
      res.status(204).end();
    });
    r.get('/:version/sobjects/:type/:field/:value', (req, res) => {
      const v = this.version(req);
      const schema = this.schema(req);
      this.externalIdField(schema, String(req.params.field));
      const row = this.store.findByExternalId(schema.name, String(req.params.value));
      if (!row) throw notFound();
      res.json(this.renderRow(schema, row, allFields(schema), v));
    });
    r.patch('/:version/sobjects/:type/:field/:value', (req, res) => {
      const schema = this.schema(req);
      const field = this.externalIdField(schema, String(req.params.field));
      const value = String(req.params.value);
      const body = this.objectBody(req);
      const result = this.upsertOne(schema.name, field, value, body);
      if (!result.ok) throw recordFailure(result.errors);
      res
        .status(result.created ? 201 : 200)
        .json({ id: result.row[SLOT_ID], success: true, errors: [], created: result.created });
    });

    r.get('/:version/query', (req, res) => this.startQuery(req, res, false));
    r.get('/:version/queryAll', (req, res) => this.startQuery(req, res, true));
    r.get('/:version/query/:locator', (req, res) => this.continueQuery(req, res));
    r.get('/:version/queryAll/:locator', (req, res) => this.continueQuery(req, res));

    r.post('/:version/composite/sobjects', (req, res) => {
      this.version(req);
      res.json(this.collection(req, (record) => this.collectionCreate(record)));
    });
    r.patch('/:version/composite/sobjects', (req, res) => {
      this.version(req);
      res.json(this.collection(req, (record) => this.collectionUpdate(record)));
    });
    r.patch('/:version/composite/sobjects/:type/:field', (req, res) => {
      this.version(req);
      const schema = this.schema(req);
      const field = this.externalIdField(schema, String(req.params.field));
      res.json(this.collection(req, (record, all) => this.collectionUpsert(schema, field, record, all)));
    });
    r.post('/:version/composite/sobjects/:type', (req, res) => {
      const v = this.version(req);
      const schema = this.schema(req);
      const body = this.objectBody(req);
      const ids = body.ids;
      const fields = body.fields;
      if (!Array.isArray(ids) || !Array.isArray(fields))
        throw new SfApiError(400, 'INVALID_FIELD', 'ids and fields are required');
      if (ids.length > 2000)
        throw new SfApiError(
          400,
          'EXCEEDED_ID_LIMIT',
          'record limit reached. cannot submit more than 2000 records into this call',
        );
      const select = this.selectFromList(schema, fields.join(','));
      res.json(
        ids.map((id) => {
          const full = normalizeId(String(id));
          const row = full ? this.store.table(schema.name).byId.get(full) : undefined;
          return row && row[SLOT_IS_DELETED] === false ? this.renderRow(schema, row, select, v) : null;
        }),
      );
    });
    r.delete('/:version/composite/sobjects', (req, res) => {
      this.version(req);
      const ids = String(req.query.ids ?? '')
        .split(',')
        .filter(Boolean);
      if (ids.length > MAX_COLLECTION_RECORDS) throw tooManyRecords();
      const allOrNone = String(req.query.allOrNone) === 'true';
      res.json(this.runCollection(ids, allOrNone, (id) => this.collectionDelete(id)));
    });

    r.use((_req, _res, next) => next(notFound()));
    return r;
  }

  /** Renders SfApiError (and body-parser failures) as Salesforce does. */
  static errorHandler() {
    return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
      if (err instanceof SfApiError) {
        res.status(err.status).json(err.body());
        return;
      }
      const e = err as { type?: string; status?: number; message?: string };
      if (e?.type === 'entity.parse.failed') {
        res
          .status(400)
          .json([{ message: `Unexpected character: ${e.message ?? ''}`, errorCode: 'JSON_PARSER_ERROR' }]);
        return;
      }
      if (e?.status === 413) {
        res
          .status(413)
          .json([{ message: 'Request entity too large', errorCode: 'REQUEST_ENTITY_TOO_LARGE' }]);
        return;
      }
      res.status(500).json([
        {
          message: `An unexpected error occurred: ${e?.message ?? String(err)}`,
          errorCode: 'UNKNOWN_EXCEPTION',
        },
      ]);
    };
  }

  // ---- helpers -------------------------------------------------------------------------------------

  /** Returns the version number ("62.0"); unknown or ancient versions are 404 like on Salesforce. */
  private version(req: Request, withV = false): string {
    const m = /^v(\d{2})\.0$/.exec(String(req.params.version));
    if (!m || Number(m[1]) < 20) throw notFound();
    return withV ? `v${m[1]}.0` : `${m[1]}.0`;
  }

  private schema(req: Request): ObjectSchema {
    this.version(req);
    const schema = schemaFor(String(req.params.type));
    if (!schema) throw notFound();
    return schema;
  }

  private objectBody(req: Request): Record<string, unknown> {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new SfApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
    }
    return body as Record<string, unknown>;
  }

  private liveRow(schema: ObjectSchema, rawId: string): Row {
    const id = normalizeId(rawId);
    if (!id || !id.startsWith(schema.keyPrefix)) {
      // Salesforce reads a non-id segment as an external id field name
      if (!id)
        throw new SfApiError(
          404,
          'NOT_FOUND',
          `Provided external ID field does not exist or is not accessible: ${rawId}`,
        );
      throw notFound();
    }
    const row = this.store.table(schema.name).byId.get(id);
    if (!row) throw notFound();
    if (row[SLOT_IS_DELETED] === true) throw new SfApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    return row;
  }

  private externalIdField(schema: ObjectSchema, name: string): string {
    const f = schema.byLowerName.get(name.toLowerCase());
    if (!f || !f.externalId)
      throw new SfApiError(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${name}`,
      );
    return f.name;
  }

  private selectFromList(schema: ObjectSchema, list: string): SelectItem[] {
    return list.split(',').map((name) => {
      const f = schema.byLowerName.get(name.trim().toLowerCase());
      if (!f)
        throw new SfApiError(
          400,
          'INVALID_FIELD',
          `No such column '${name.trim()}' on entity '${schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      return { field: f };
    });
  }

  private renderRow(
    schema: ObjectSchema,
    row: Row,
    select: SelectItem[],
    version: string,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {
      attributes: {
        type: schema.name,
        url: `/services/data/v${version}/sobjects/${schema.name}/${row[SLOT_ID] as string}`,
      },
    };
    for (const item of select) {
      const f = item.field;
      if (item.relationship) {
        const accountId = row[f.slot] as string | null;
        out[item.relationship.name] = accountId
          ? {
              attributes: {
                type: 'Account',
                url: `/services/data/v${version}/sobjects/Account/${accountId}`,
              },
              Name: this.store.accounts.get(accountId) ?? null,
            }
          : null;
        continue;
      }
      if (f.slot < 0) {
        const first = row[(schema.byLowerName.get('firstname') as { slot: number }).slot];
        const last = row[(schema.byLowerName.get('lastname') as { slot: number }).slot];
        out[f.name] = [first, last].filter((x) => x !== null && x !== '').join(' ') || null;
        continue;
      }
      const v = row[f.slot];
      out[f.name] = f.type === 'datetime' && typeof v === 'number' ? formatSfDateTime(v) : v;
    }
    return out;
  }

  // ---- query ---------------------------------------------------------------------------------------

  private startQuery(req: Request, res: Response, all: boolean): void {
    const v = this.version(req);
    const q = req.query.q;
    if (typeof q !== 'string' || !q.trim())
      throw new SfApiError(400, 'MALFORMED_QUERY', 'SOQL statement cannot be empty or null');
    const compiled = compileSoql(q, parseSoql(q));
    const rows = this.execute(compiled, all);
    if (compiled.count) {
      res.json({ totalSize: rows.length, done: true, records: [] });
      return;
    }
    const locator = this.cursorIds.next(KeyPrefix.QueryLocator);
    const cursor: Cursor = { query: compiled, rows, lastUsed: this.now() };
    this.serveQueryPage(req, res, locator, cursor, 0, v);
  }

  private continueQuery(req: Request, res: Response): void {
    const v = this.version(req);
    const m = /^([a-zA-Z0-9]{15,18})-(\d+)$/.exec(String(req.params.locator));
    const cursor = m ? this.cursors.get(m[1]) : undefined;
    if (!m || !cursor || this.now() - cursor.lastUsed > CURSOR_IDLE_MS) {
      if (m) this.cursors.delete(m[1]);
      throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    this.serveQueryPage(req, res, m[1], cursor, Number(m[2]), v);
  }

  private serveQueryPage(
    req: Request,
    res: Response,
    locator: string,
    cursor: Cursor,
    offset: number,
    version: string,
  ): void {
    if (offset > cursor.rows.length)
      throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    const batch = batchSize(req.get('sforce-query-options'));
    const page = cursor.rows.slice(offset, offset + batch);
    const next = offset + page.length;
    const done = next >= cursor.rows.length;
    const { schema, select } = cursor.query;
    const body: Record<string, unknown> = { totalSize: cursor.rows.length, done };
    if (!done) {
      cursor.lastUsed = this.now();
      this.cursors.delete(locator);
      this.cursors.set(locator, cursor);
      while (this.cursors.size > MAX_OPEN_CURSORS)
        this.cursors.delete(this.cursors.keys().next().value as string);
      body.nextRecordsUrl = `/services/data/v${version}/query/${locator}-${next}`;
    } else {
      this.cursors.delete(locator);
    }
    body.records = page.map((row) => this.renderRow(schema, row, select, version));
    res.json(body);
  }

  /** Runs a compiled query over the (SystemModstamp, Id) index, starting at the lowest possible stamp. */
  private execute(q: CompiledQuery, all: boolean): Row[] {
    const index = this.store.table(q.schema.name).sorted();
    let lo = 0;
    if (q.minModstamp > -Infinity) {
      let hi = index.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((index[mid][SLOT_MODSTAMP] as number) < q.minModstamp) lo = mid + 1;
        else hi = mid;
      }
    }
    const wanted = q.limit === undefined || !q.usesIndexOrder ? Infinity : q.offset + q.limit;
    const out: Row[] = [];
    for (let i = lo; i < index.length && out.length < wanted; i++) {
      const row = index[i];
      if (!all && row[SLOT_IS_DELETED] === true) continue;
      if (q.predicate(row)) out.push(row);
    }
    if (q.compare) out.sort(q.compare);
    const end = q.limit === undefined ? undefined : q.offset + q.limit;
    return q.offset || end !== undefined ? out.slice(q.offset, end) : out;
  }

  // ---- replication ---------------------------------------------------------------------------------

  private replicationWindow(req: Request, windowMs: number): { start: number; end: number } {
    const rawStart = req.query.start;
    const rawEnd = req.query.end;
    if (typeof rawStart !== 'string' || typeof rawEnd !== 'string') {
      throw new SfApiError(400, 'MISSING_ARGUMENT', 'start and end date are both required');
    }
    const s = parseSfDateTime(rawStart);
    const e = parseSfDateTime(rawEnd);
    if (s === undefined || e === undefined) {
      throw new SfApiError(
        400,
        'INVALID_REPLICATION_DATE',
        `Invalid date format: ${s === undefined ? rawStart : rawEnd}`,
      );
    }
    // The API ignores the seconds of both bounds
    const start = Math.floor(s / 60_000) * 60_000;
    const end = Math.floor(e / 60_000) * 60_000;
    const now = this.now();
    if (start >= end)
      throw new SfApiError(
        400,
        'INVALID_REPLICATION_DATE',
        'startDate must chronologically precede endDate by more than one minute',
      );
    const days = windowMs / 86_400_000;
    if (start < now - windowMs)
      throw new SfApiError(400, 'INVALID_REPLICATION_DATE', `startDate cannot be more than ${days} days ago`);
    if (windowMs === DELETED_WINDOW_MS && start < this.earliestDeletedAvailable()) {
      throw new SfApiError(
        400,
        'INVALID_REPLICATION_DATE',
        'startDate is before earliestDateAvailable; the delete log was purged',
      );
    }
    return { start, end: Math.min(end, Math.floor(now / 60_000) * 60_000) };
  }

  private purgedBefore = 0;

  /** The recycle bin keeps deleted records for 15 days; older ones are gone from queryAll and getDeleted. */
  private purgeRecycleBin(): void {
    const cutoff = this.now() - DELETED_WINDOW_MS;
    for (const name of SOBJECT_NAMES) {
      const table = this.store.table(name);
      const gone = new Set<Row>();
      for (const [id, at] of table.deletedAt) {
        if (at >= cutoff) continue;
        const row = table.byId.get(id);
        if (row) gone.add(row);
        table.deletedAt.delete(id);
        this.purgedBefore = Math.max(this.purgedBefore, at);
      }
      if (gone.size) table.purge(gone);
    }
  }

  private earliestDeletedAvailable(): number {
    return Math.max(this.purgedBefore, toSecond(this.now() - DELETED_WINDOW_MS));
  }

  // ---- collections ---------------------------------------------------------------------------------

  private collection(
    req: Request,
    op: (record: Record<string, unknown>, all: Record<string, unknown>[]) => CollectionResult,
  ): CollectionResult[] {
    const body = this.objectBody(req);
    const records = body.records;
    if (!Array.isArray(records))
      throw new SfApiError(400, 'JSON_PARSER_ERROR', 'records is required and must be an array');
    if (records.length > MAX_COLLECTION_RECORDS) throw tooManyRecords();
    const allOrNone = body.allOrNone === true || body.allOrNone === 'true';
    return this.runCollection(records as Record<string, unknown>[], allOrNone, (r) =>
      op(r, records as Record<string, unknown>[]),
    );
  }

  /** Processes items in order inside one transaction; with allOrNone any failure rolls every change back. */
  private runCollection<T>(
    items: T[],
    allOrNone: boolean,
    op: (item: T) => CollectionResult,
  ): CollectionResult[] {
    return this.store.transaction((tx) => {
      const results = items.map((item) => {
        if (typeof item !== 'object' && typeof item !== 'string')
          return failure([
            { statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] },
          ]);
        return op(item);
      });
      if (allOrNone && results.some((r) => !r.success)) {
        tx.rollback();
        return results.map((r) =>
          r.success
            ? {
                ...(r.id ? { id: r.id } : {}),
                success: false,
                errors: [ROLLED_BACK],
                ...('created' in r ? { created: false } : {}),
              }
            : r,
        );
      }
      return results;
    });
  }

  private recordType(record: Record<string, unknown>): SObjectName | RecordError {
    const attrs = record.attributes as { type?: unknown } | undefined;
    if (!attrs || typeof attrs.type !== 'string')
      return { statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] };
    const schema = schemaFor(attrs.type);
    if (!schema)
      return {
        statusCode: 'INVALID_TYPE',
        message: `sObject type '${attrs.type}' is not supported.`,
        fields: [],
      };
    return schema.name;
  }

  private collectionCreate(record: Record<string, unknown>): CollectionResult {
    const type = this.recordType(record);
    if (typeof type !== 'string') return failure([type]);
    if ('id' in record || 'Id' in record)
      return failure([
        { statusCode: 'INVALID_FIELD', message: 'cannot specify Id in an insert call', fields: ['Id'] },
      ]);
    return saveResult(this.store.create(type, record, this.now()), false);
  }

  private collectionUpdate(record: Record<string, unknown>): CollectionResult {
    const type = this.recordType(record);
    if (typeof type !== 'string') return failure([type]);
    const rawId = record.id ?? record.Id;
    if (typeof rawId !== 'string')
      return failure([
        { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] },
      ]);
    const id = normalizeId(rawId);
    const row = id ? this.store.table(type).byId.get(id) : undefined;
    if (!row)
      return failure([
        { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] },
      ]);
    if (row[SLOT_IS_DELETED] === true)
      return failure([{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }], id);
    return saveResult(this.store.update(type, row, record, this.now()), false);
  }

  private collectionUpsert(
    schema: ObjectSchema,
    field: string,
    record: Record<string, unknown>,
    all: Record<string, unknown>[],
  ): CollectionResult {
    const type = this.recordType(record);
    if (typeof type !== 'string') return failure([type], undefined, true);
    if (type !== schema.name)
      return failure(
        [{ statusCode: 'INVALID_TYPE', message: `Records must all be of type ${schema.name}`, fields: [] }],
        undefined,
        true,
      );
    const key = Object.keys(record).find((k) => k.toLowerCase() === field.toLowerCase());
    const value = key ? record[key] : undefined;
    if (typeof value !== 'string' || value === '') {
      return failure(
        [{ statusCode: 'MISSING_ARGUMENT', message: `${field} not specified`, fields: [field] }],
        undefined,
        true,
      );
    }
    const dupes = all.filter((r) => {
      const k = Object.keys(r ?? {}).find((x) => x.toLowerCase() === field.toLowerCase());
      return k !== undefined && String(r[k]).toLowerCase() === value.toLowerCase();
    });
    if (dupes.length > 1) {
      return failure(
        [
          {
            statusCode: 'DUPLICATE_EXTERNAL_ID',
            message: `Duplicate external id specified: ${value}`,
            fields: [field],
          },
        ],
        undefined,
        true,
      );
    }
    return saveResult(this.upsertOne(type, field, value, record), true);
  }

  private upsertOne(
    object: SObjectName,
    field: string,
    value: string,
    body: Record<string, unknown>,
  ): WriteResult {
    const rest = Object.fromEntries(
      Object.entries(body).filter(([k]) => k.toLowerCase() !== field.toLowerCase()),
    );
    const existing = this.store.findByExternalId(object, value);
    if (existing) return this.store.update(object, existing, rest, this.now());
    return this.store.create(object, { ...rest, [EXTERNAL_ID_FIELD]: value }, this.now());
  }

  private collectionDelete(rawId: string): CollectionResult {
    const id = normalizeId(rawId);
    const hit = id ? this.store.locate(id) : undefined;
    if (!hit)
      return failure(
        [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] }],
        rawId,
      );
    if (hit.row[SLOT_IS_DELETED] === true)
      return failure([{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }], id);
    this.store.softDelete(hit.object, hit.row, this.now());
    return { id, success: true, errors: [] };
  }
}

interface CollectionResult {
  id?: string;
  success: boolean;
  errors: RecordError[];
  created?: boolean;
}

function failure(errors: RecordError[], id?: string, upsert = false): CollectionResult {
  return { ...(id ? { id } : {}), success: false, errors, ...(upsert ? { created: false } : {}) };
}

function saveResult(result: WriteResult, upsert: boolean): CollectionResult {
  if (!result.ok) return failure(result.errors, undefined, upsert);
  return {
    id: result.row[SLOT_ID] as string,
    success: true,
    errors: [],
    ...(upsert ? { created: result.created } : {}),
  };
}

function tooManyRecords(): SfApiError {
  return new SfApiError(
    400,
    'EXCEEDED_ID_LIMIT',
    `record limit reached. cannot submit more than ${MAX_COLLECTION_RECORDS} records into this call`,
  );
}

/** A single-record write failure is the whole request's error: 400 with the first record error. */
function recordFailure(errors: RecordError[]): SfApiError {
  const e = errors[0];
  return new SfApiError(400, e.statusCode, e.message, e.fields);
}

function allFields(schema: ObjectSchema): SelectItem[] {
  return schema.fields.map((field) => ({ field }));
}

/** Sforce-Query-Options: batchSize=N, honoured between 200 and 2,000 like the real API. */
function batchSize(header: string | undefined): number {
  const m = header ? /batchSize\s*=\s*(\d+)/i.exec(header) : null;
  if (!m) return DEFAULT_BATCH_SIZE;
  return Math.min(DEFAULT_BATCH_SIZE, Math.max(200, Number(m[1])));
}
