// The emulated HubSpot CRM v3 API (contacts objects, batch, search, properties) as an express app, following
// HubSpot's published OpenAPI specs: paths, status codes (201 create, 207 multi-status, 204 archive), response
// shapes and error bodies. Auth and the per-token rate limit run in front of every route; /__admin is mounted by
// index.ts before any of this and is never rate limited, faulted or authenticated.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { FaultInjector, FaultResponder } from '../../../src/sandbox';
import {
  type ContactRecord,
  type ContactStore,
  type PropertyDefinition,
  DERIVED_PROPERTIES,
  normaliseUnique,
  propertyValue,
} from './contact-store';
import { ContactSearch, type SearchRequest } from './contact-search';
import {
  HubSpotErrorCategory,
  HubSpotHttpError,
  errorBody,
  sendError,
  validationError,
  type HubSpotErrorBody,
} from './hubspot-errors';
import type { RateLimiter } from './rate-limiter';

export const BATCH_MAX_INPUTS = 100;
export const LIST_MAX_LIMIT = 100;
const DEFAULT_CONTACT_PROPERTIES = [
  'createdate',
  'email',
  'firstname',
  'hs_object_id',
  'lastmodifieddate',
  'lastname',
];
/** HubSpot returns these on every object whatever `properties` asked for. */
const ALWAYS_RETURNED = ['createdate', 'hs_object_id', 'lastmodifieddate'];
const PROPERTY_TYPES = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool'];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface HubSpotApiDeps {
  store: ContactStore;
  limiter: RateLimiter;
  faults: FaultInjector;
  /** Tokens this portal accepts (the first is the app's; tests may add more to see per-token limits). */
  tokens: Set<string>;
  appId: number;
  /** HubSpot's separate search budget (5 requests per second per account); 0 = off. Read on every request. */
  searchPerSecond: () => number;
}

interface JsonObject {
  [k: string]: unknown;
}

export function createHubSpotApi(deps: HubSpotApiDeps): express.Router {
  const { store, limiter } = deps;
  const search = new ContactSearch(store);
  const api = express.Router();

  // Auth first: HubSpot answers 401 before counting a request against any limit.
  api.use((req, res, next) => {
    const header = req.get('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (!token || !deps.tokens.has(token)) {
      return sendError(
        res,
        401,
        errorBody(
          HubSpotErrorCategory.InvalidAuthentication,
          token
            ? 'The OAuth token used to make this call is not valid for this portal.'
            : 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        ),
      );
    }
    res.locals.token = token;
    const decision = limiter.take(token);
    res.set(decision.headers);
    if (!decision.allowed) {
      return sendError(res, 429, rateLimitBody(deps.appId, decision.policy ?? 'TEN_SECONDLY_ROLLING'));
    }
    next();
  });

  api.use(deps.faults.middleware(faultResponder(deps.appId)));

  api.use(express.json({ limit: '10mb', type: () => true }));

  const contacts = '/crm/v3/objects/contacts';

  api.get(contacts, (req, res) => {
    const limit = intParam(req.query.limit, 10);
    if (limit < 1 || limit > LIST_MAX_LIMIT)
      throw validationError(`limit must be between 1 and ${LIST_MAX_LIMIT}; got ${limit}`);
    const archived = boolParam(req.query.archived);
    const props = propertyList(req.query.properties) ?? DEFAULT_CONTACT_PROPERTIES;
    const afterRaw = stringParam(req.query.after);
    // `after` is the id to resume from (opaque to clients; HubSpot hands back the next id as a string).
    const after = afterRaw === undefined ? 0 : Number(afterRaw);
    if (!Number.isFinite(after)) throw validationError(`Invalid after value: ${afterRaw}`);
    const all = store.all();
    const results: ContactRecord[] = [];
    let i = store.indexFrom(after);
    for (; i < all.length && results.length < limit; i++) {
      if (Boolean(all[i].archivedAt) === archived) results.push(all[i]);
    }
    // Peek for one more so the last page carries no paging, as HubSpot's does.
    while (i < all.length && Boolean(all[i].archivedAt) !== archived) i++;
    const body: JsonObject = { results: results.map((r) => toObject(store, r, props)) };
    if (i < all.length) {
      const nextId = String(all[i].id);
      body.paging = {
        next: { after: nextId, link: `${req.protocol}://${req.get('host')}${contacts}?after=${nextId}` },
      };
    }
    sendJson(res, 200, body);
  });

  api.post(contacts, (req, res) => {
    const input = objectBody(req);
    const props = validateWrite(store, stringProps(input.properties), undefined);
    if (props.error) throw new HubSpotHttpError(props.error.httpStatus, props.error.body);
    const record = store.create(props.values, 'API');
    sendJson(res, 201, toObject(store, record, Object.keys(props.values)));
  });

  const searchStamps: number[] = [];
  api.post(`${contacts}/search`, (req, res) => {
    const perSecond = deps.searchPerSecond();
    if (perSecond > 0) {
      const now = Date.now();
      while (searchStamps.length > 0 && searchStamps[0] <= now - 1000) searchStamps.shift();
      // HubSpot's search limit answers with this exact message, which the SDK's retry recognises.
      if (searchStamps.length >= perSecond)
        return sendError(res, 429, {
          ...rateLimitBody(deps.appId, 'SECONDLY'),
          message: 'You have reached your secondly limit.',
        });
      searchStamps.push(now);
    }
    const body = objectBody(req) as SearchRequest;
    const out = search.run(body);
    const props =
      Array.isArray(body.properties) && body.properties.length > 0
        ? body.properties
        : DEFAULT_CONTACT_PROPERTIES;
    const response: JsonObject = {
      total: out.total,
      results: out.page.map((r) => toObject(store, r, props)),
    };
    if (out.nextAfter) response.paging = { next: { after: out.nextAfter } };
    sendJson(res, 200, response);
  });

  api.post(`${contacts}/batch/read`, (req, res) => {
    const body = objectBody(req);
    const inputs = batchInputs(body);
    const idProperty = typeof body.idProperty === 'string' ? body.idProperty : undefined;
    if (idProperty && !store.isUniqueProperty(idProperty))
      throw validationError(`${idProperty} is not a unique property and cannot be used as idProperty.`);
    const archived = boolParam(req.query.archived);
    const props =
      Array.isArray(body.properties) && body.properties.length > 0
        ? body.properties.map(String)
        : DEFAULT_CONTACT_PROPERTIES;
    const results: JsonObject[] = [];
    const errors: HubSpotErrorBody[] = [];
    const seen = new Set<number>();
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const record = idProperty ? store.findBy(idProperty, id) : store.get(id, true);
      if (!record || Boolean(record.archivedAt) !== archived) {
        errors.push(
          inputError(
            HubSpotErrorCategory.ObjectNotFound,
            `Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.`,
            { ids: [id] },
          ),
        );
        continue;
      }
      if (seen.has(record.id)) continue; // HubSpot answers each object once
      seen.add(record.id);
      results.push(toObject(store, record, props));
    }
    sendBatch(res, 200, results, errors);
  });

  api.post(`${contacts}/batch/create`, (req, res) => {
    const inputs = batchInputs(objectBody(req));
    const results: JsonObject[] = [];
    const errors: HubSpotErrorBody[] = [];
    for (const input of inputs) {
      const v = validateWrite(store, stringProps(input.properties), undefined);
      if (v.error) {
        errors.push(v.error.body);
        continue;
      }
      const record = store.create(v.values, 'API');
      results.push(toObject(store, record, Object.keys(v.values)));
    }
    sendBatch(res, 201, results, errors);
  });

  api.post(`${contacts}/batch/update`, (req, res) => {
    const inputs = batchInputs(objectBody(req));
    refuseDuplicateIds(inputs);
    const results: JsonObject[] = [];
    const errors: HubSpotErrorBody[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const idProperty = typeof input.idProperty === 'string' ? input.idProperty : undefined;
      if (idProperty && !store.isUniqueProperty(idProperty))
        throw validationError(`${idProperty} is not a unique property and cannot be used as idProperty.`);
      const record = store.findBy(idProperty, id);
      if (!record) {
        errors.push(
          inputError(HubSpotErrorCategory.ObjectNotFound, `Could not find CONTACT with id ${id}.`, {
            ids: [id],
          }),
        );
        continue;
      }
      const v = validateWrite(store, stringProps(input.properties), record);
      if (v.error) {
        errors.push(v.error.body);
        continue;
      }
      store.update(record, v.values, 'API');
      results.push(toObject(store, record, Object.keys(v.values)));
    }
    sendBatch(res, 200, results, errors);
  });

  api.post(`${contacts}/batch/upsert`, (req, res) => {
    const inputs = batchInputs(objectBody(req));
    refuseDuplicateIds(inputs);
    const results: JsonObject[] = [];
    const errors: HubSpotErrorBody[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const idProperty = typeof input.idProperty === 'string' ? input.idProperty : undefined;
      if (!idProperty) throw validationError('idProperty is required for upsert inputs.');
      if (!store.isUniqueProperty(idProperty))
        throw validationError(`${idProperty} is not a unique property and cannot be used as idProperty.`);
      const existing = store.findBy(idProperty, id);
      const props = stringProps(input.properties);
      if (!existing && idProperty === 'hs_object_id') {
        errors.push(
          inputError(
            HubSpotErrorCategory.ObjectNotFound,
            `Could not find CONTACT with id ${id}; upsert by hs_object_id cannot create.`,
            { ids: [id] },
          ),
        );
        continue;
      }
      // A new record takes its identifying value from the input id, as HubSpot fills idProperty on create.
      if (!existing) props[idProperty] = id;
      const v = validateWrite(store, props, existing);
      if (v.error) {
        errors.push(v.error.body);
        continue;
      }
      const record = existing ?? store.create(v.values, 'API');
      if (existing) store.update(existing, v.values, 'API');
      results.push({ ...toObject(store, record, [...Object.keys(v.values), idProperty]), new: !existing });
    }
    sendBatch(res, 200, results, errors);
  });

  api.post(`${contacts}/batch/archive`, (req, res) => {
    // Unknown or already archived ids are ignored: HubSpot answers 204 for the whole batch.
    for (const input of batchInputs(objectBody(req))) {
      const record = store.get(String(input.id ?? ''));
      if (record) store.archive(record, 'API');
    }
    res.status(204).end();
  });

  api.post(`${contacts}/gdpr-delete`, (req, res) => {
    // PublicGdprDeleteInput: objectId (required) and an optional idProperty ("email"). The contact is deleted for good,
    // archived or not; an email that matches no contact is blocklisted instead, and HubSpot still answers 204.
    const body = objectBody(req);
    const objectId = typeof body.objectId === 'string' ? body.objectId.trim() : '';
    if (!objectId) throw validationError('Invalid input JSON: objectId is required.');
    const idProperty = typeof body.idProperty === 'string' && body.idProperty ? body.idProperty : undefined;
    if (
      idProperty &&
      idProperty !== 'email' &&
      idProperty !== 'hs_object_id' &&
      !store.isUniqueProperty(idProperty)
    )
      throw validationError(`${idProperty} is not a unique property and cannot be used as idProperty.`);
    if (idProperty === 'email') {
      const record = store.findBy('email', objectId);
      if (record) store.purge(record, 'API');
      else store.blocklist.add(normaliseUnique('email', objectId));
    } else {
      const record =
        idProperty && idProperty !== 'hs_object_id'
          ? store.findBy(idProperty, objectId)
          : store.get(objectId, true);
      if (!record) throw notFound(objectId);
      store.purge(record, 'API');
    }
    res.status(204).end();
  });

  api.get(`${contacts}/:id`, (req, res) => {
    const id = String(req.params.id);
    const idProperty = stringParam(req.query.idProperty);
    if (idProperty && !store.isUniqueProperty(idProperty))
      throw validationError(`${idProperty} is not a unique property and cannot be used as idProperty.`);
    const archived = boolParam(req.query.archived);
    const record = archived ? store.get(id, true) : store.findBy(idProperty, id);
    if (!record || Boolean(record.archivedAt) !== archived) throw notFound(id);
    sendJson(
      res,
      200,
      toObject(store, record, propertyList(req.query.properties) ?? DEFAULT_CONTACT_PROPERTIES),
    );
  });

  api.patch(`${contacts}/:id`, (req, res) => {
    const id = String(req.params.id);
    const idProperty = stringParam(req.query.idProperty);
    const record = store.findBy(idProperty, id);
    if (!record) throw notFound(id);
    const v = validateWrite(store, stringProps(objectBody(req).properties), record);
    if (v.error) throw new HubSpotHttpError(v.error.httpStatus, v.error.body);
    store.update(record, v.values, 'API');
    sendJson(res, 200, toObject(store, record, Object.keys(v.values)));
  });

  api.delete(`${contacts}/:id`, (req, res) => {
    const record = store.get(String(req.params.id));
    if (record) store.archive(record, 'API');
    res.status(204).end();
  });

  const properties = '/crm/v3/properties/contacts';

  api.get(properties, (req, res) => {
    const archived = boolParam(req.query.archived);
    sendJson(res, 200, { results: archived ? [] : store.listProperties().map(toProperty) });
  });

  api.get(`${properties}/:name`, (req, res) => {
    const p = store.getProperty(String(req.params.name));
    if (!p)
      throw new HubSpotHttpError(
        404,
        errorBody(HubSpotErrorCategory.ObjectNotFound, `Unable to find property ${req.params.name}`, {
          context: { propertyName: [String(req.params.name)] },
        }),
      );
    sendJson(res, 200, toProperty(p));
  });

  api.post(properties, (req, res) => {
    const b = objectBody(req);
    const name = typeof b.name === 'string' ? b.name : '';
    for (const field of ['name', 'label', 'type', 'fieldType', 'groupName']) {
      if (typeof b[field] !== 'string' || b[field] === '')
        throw validationError(`Property ${field} is required.`, {
          errors: [{ message: `${field} is required`, code: 'REQUIRED_FIELD' }],
        });
    }
    if (!/^[a-z][a-z0-9_]*$/.test(name))
      throw validationError(
        `Property name ${name} is not valid: use lowercase letters, digits and underscores, starting with a letter.`,
      );
    if (!PROPERTY_TYPES.includes(String(b.type)))
      throw validationError(`Property type ${String(b.type)} is not one of ${PROPERTY_TYPES.join(', ')}.`);
    if (store.getProperty(name)) {
      throw new HubSpotHttpError(
        409,
        errorBody(HubSpotErrorCategory.ObjectAlreadyExists, `Property named '${name}' already exists.`, {
          subCategory: 'PropertyValidationError.PROPERTY_EXISTS',
          context: { name: [name] },
        }),
      );
    }
    const now = Date.now();
    const options = Array.isArray(b.options)
      ? (b.options as JsonObject[]).map((o, i) => ({
          label: String(o.label ?? o.value),
          value: String(o.value),
          displayOrder: Number(o.displayOrder ?? i),
          hidden: Boolean(o.hidden),
        }))
      : [];
    const p: PropertyDefinition = {
      name,
      label: String(b.label),
      type: String(b.type),
      fieldType: String(b.fieldType),
      groupName: String(b.groupName),
      description: typeof b.description === 'string' ? b.description : '',
      hasUniqueValue: b.hasUniqueValue === true,
      hubspotDefined: false,
      readOnly: false,
      options,
      displayOrder: typeof b.displayOrder === 'number' ? b.displayOrder : -1,
      createdAt: now,
      updatedAt: now,
    };
    store.addProperty(p);
    sendJson(res, 201, toProperty(p));
  });

  api.use((req, res) => {
    sendError(
      res,
      404,
      errorBody(
        HubSpotErrorCategory.ObjectNotFound,
        `No route for ${req.method} ${req.path} in this sandbox.`,
      ),
    );
  });

  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HubSpotHttpError) return sendError(res, err.httpStatus, err.body);
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed')
      return sendError(
        res,
        400,
        errorBody(HubSpotErrorCategory.ValidationError, `Invalid input JSON on line 1: ${e.message ?? ''}`),
      );
    if (e?.type === 'entity.too.large')
      return sendError(res, 413, errorBody(HubSpotErrorCategory.ValidationError, 'Request body too large.'));
    sendError(res, 500, errorBody(HubSpotErrorCategory.InternalError, 'internal error'));
  });

  return api;
}

export function rateLimitBody(appId: number, policy: string): HubSpotErrorBody & JsonObject {
  return {
    status: 'error',
    message:
      policy === 'DAILY'
        ? 'You have reached your daily limit.'
        : 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: policy,
    groupName: `publicapi:app-api-id:${appId}`,
    category: HubSpotErrorCategory.RateLimits,
  };
}

/** Injected faults answer with the same bodies HubSpot's edge does. */
function faultResponder(appId: number): FaultResponder {
  return {
    tooManyRequests(_req, res) {
      res.set({ 'X-HubSpot-RateLimit-Remaining': '0', 'Retry-After': '1' });
      sendError(res, 429, rateLimitBody(appId, 'TEN_SECONDLY_ROLLING'));
    },
    serverError(_req, res) {
      sendError(res, 500, errorBody(HubSpotErrorCategory.InternalError, 'internal error'));
    },
    unavailable(_req, res) {
      res.set('Retry-After', '5');
      sendError(
        res,
        503,
        errorBody(HubSpotErrorCategory.ServiceUnavailable, 'Service Unavailable. Please try again later.'),
      );
    },
  };
}

function toObject(store: ContactStore, r: ContactRecord, requested: readonly string[]): JsonObject {
  const properties: Record<string, string | null> = {};
  for (const name of new Set([...ALWAYS_RETURNED, ...requested])) {
    // Requested properties that exist but are empty come back as null; unknown ones are ignored.
    if (!store.getProperty(name)) continue;
    properties[name] = propertyValue(r, name) ?? null;
  }
  const o: JsonObject = {
    id: String(r.id),
    properties,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    archived: Boolean(r.archivedAt),
  };
  if (r.archivedAt) o.archivedAt = new Date(r.archivedAt).toISOString();
  return o;
}

function toProperty(p: PropertyDefinition): JsonObject {
  const o: JsonObject = {
    name: p.name,
    label: p.label,
    type: p.type,
    fieldType: p.fieldType,
    description: p.description,
    groupName: p.groupName,
    options: p.options,
    displayOrder: p.displayOrder,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: p.hasUniqueValue,
    hidden: false,
    modificationMetadata: {
      archivable: !p.hubspotDefined,
      readOnlyDefinition: p.hubspotDefined,
      readOnlyValue: p.readOnly,
    },
    formField: !p.readOnly,
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
    archived: false,
  };
  if (p.hubspotDefined) o.hubspotDefined = true;
  return o;
}

/**
 * Checks property values as HubSpot does before a write: unknown and read-only properties, enumeration options,
 * booleans, numbers, email syntax and uniqueness. Emails are stored trimmed and lower-cased, as HubSpot does.
 */
function validateWrite(
  store: ContactStore,
  input: Record<string, string>,
  target: ContactRecord | undefined,
):
  | { values: Record<string, string>; error?: undefined }
  | { values: Record<string, string>; error: HubSpotHttpError } {
  const values: Record<string, string> = {};
  const problems: { name: string; error: string; message: string }[] = [];
  let conflict: { id: number; name: string } | undefined;
  for (const [name, raw] of Object.entries(input)) {
    const p = store.getProperty(name);
    let value = raw;
    if (!p) {
      problems.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      continue;
    }
    if (p.readOnly || (DERIVED_PROPERTIES as readonly string[]).includes(name)) {
      problems.push({
        name,
        error: 'READ_ONLY_VALUE',
        message: `${name} is a read only property; its value cannot be set.`,
      });
      continue;
    }
    if (value !== '') {
      if (name === 'email') {
        value = value.trim().toLowerCase();
        if (!EMAIL_RE.test(value))
          problems.push({ name, error: 'INVALID_EMAIL', message: `Email address ${raw} is invalid` });
        else if (!target && store.blocklist.has(value))
          problems.push({
            name,
            error: 'INVALID_EMAIL',
            message: `Email address ${raw} was permanently deleted (GDPR) and is blocked`,
          });
      } else if (p.type === 'enumeration' && !p.options.some((o) => o.value === value)) {
        problems.push({
          name,
          error: 'INVALID_OPTION',
          message: `${value} was not one of the allowed options: ${p.options.map((o) => o.value).join(', ')}`,
        });
      } else if (p.type === 'bool' && value !== 'true' && value !== 'false') {
        problems.push({
          name,
          error: 'INVALID_BOOLEAN',
          message: `${value} is not a valid boolean; use true or false`,
        });
      } else if (p.type === 'number' && !Number.isFinite(Number(value))) {
        problems.push({ name, error: 'INVALID_INTEGER', message: `${value} is not a valid number` });
      }
      if (p.hasUniqueValue) {
        const holder = store.findBy(name, value);
        if (holder && holder !== target) conflict = { id: holder.id, name };
      }
    }
    values[name] = value;
  }
  if (problems.length > 0) {
    const body = errorBody(
      HubSpotErrorCategory.ValidationError,
      `Property values were not valid: ${JSON.stringify(problems.map((x) => ({ isValid: false, message: x.message, error: x.error, name: x.name })))}`,
      {
        errors: problems.map((x) => ({
          message: x.message,
          code: x.error,
          context: { propertyName: [x.name] },
        })),
        context: { properties: problems.map((x) => x.name) },
      },
    );
    return { values, error: new HubSpotHttpError(400, body) };
  }
  if (conflict) {
    const body = errorBody(
      HubSpotErrorCategory.Conflict,
      `Contact already exists. Existing ID: ${conflict.id}`,
      {
        context: { id: [String(conflict.id)], property: [conflict.name] },
      },
    );
    return { values, error: new HubSpotHttpError(409, body) };
  }
  return { values };
}

function sendBatch(res: Response, okStatus: number, results: JsonObject[], errors: HubSpotErrorBody[]): void {
  const now = new Date().toISOString();
  const body: JsonObject = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
  if (errors.length > 0) {
    body.numErrors = errors.length;
    body.errors = errors;
  }
  sendJson(res, errors.length > 0 ? 207 : okStatus, body);
}

function inputError(
  category: HubSpotErrorCategory,
  message: string,
  context: Record<string, string[]>,
): HubSpotErrorBody {
  const { correlationId: _c, ...rest } = errorBody(category, message, { context, errors: [], links: {} });
  return rest as HubSpotErrorBody;
}

function notFound(id: string): HubSpotHttpError {
  return new HubSpotHttpError(
    404,
    errorBody(HubSpotErrorCategory.ObjectNotFound, 'Object not found.  objectId are usually numeric.', {
      context: { id: [id] },
    }),
  );
}

function batchInputs(body: JsonObject): JsonObject[] {
  const inputs = body.inputs;
  if (!Array.isArray(inputs))
    throw validationError('Invalid input JSON: inputs is required and must be an array.');
  if (inputs.length > BATCH_MAX_INPUTS) {
    throw validationError(
      `Batch input too large: ${inputs.length} inputs; the maximum is ${BATCH_MAX_INPUTS}.`,
      {
        context: { maxInputs: [String(BATCH_MAX_INPUTS)], inputs: [String(inputs.length)] },
      },
    );
  }
  return inputs.map((i) => (i && typeof i === 'object' ? (i as JsonObject) : {}));
}

function refuseDuplicateIds(inputs: JsonObject[]): void {
  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const i of inputs) {
    const key = `${String(i.idProperty ?? '')}:${normaliseUnique(String(i.idProperty ?? ''), String(i.id ?? ''))}`;
    if (seen.has(key)) dupes.add(String(i.id));
    seen.add(key);
  }
  if (dupes.size > 0)
    throw validationError(
      `Duplicate IDs found in batch input: [${[...dupes].join(', ')}]. IDs must be unique`,
      { context: { ids: [...dupes] } },
    );
}

function objectBody(req: Request): JsonObject {
  const b: unknown = req.body;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw validationError('Invalid input JSON: a JSON object is required.');
  return b as JsonObject;
}

function stringProps(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v || typeof v !== 'object') return out;
  for (const [k, x] of Object.entries(v as JsonObject))
    out[k] = x === null || x === undefined ? '' : String(x);
  return out;
}

/** `properties` arrives repeated (the SDK) or comma separated (the docs); both mean the same. */
function propertyList(q: unknown): string[] | undefined {
  if (q === undefined) return undefined;
  const parts = (Array.isArray(q) ? q : [q])
    .flatMap((x) => String(x).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.length > 0 ? parts : undefined;
}

function stringParam(q: unknown): string | undefined {
  if (q === undefined) return undefined;
  return Array.isArray(q) ? String(q[0]) : String(q);
}

function intParam(q: unknown, dflt: number): number {
  const s = stringParam(q);
  if (s === undefined || s === '') return dflt;
  const n = Number(s);
  if (!Number.isInteger(n)) throw validationError(`Expected an integer but got ${s}`);
  return n;
}

function boolParam(q: unknown): boolean {
  return stringParam(q) === 'true';
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type('application/json;charset=utf-8').send(JSON.stringify(body));
}
