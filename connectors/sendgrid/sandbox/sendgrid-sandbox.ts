// The SendGrid Marketing v3 emulator: an express app answering the paths, statuses and bodies of SendGrid's
// published OpenAPI (../shared/vendor-specs/sendgrid) for contacts, field definitions, lists and the Event
// Webhook settings, plus its auth, rate-limit headers and async jobs. State lives in SendGridStore.
import express, { type NextFunction, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import { planSgql, SgqlError } from './sgql';
import {
  CONTACT_TEXT_FIELDS,
  IDENTIFIERS,
  isValidEmail,
  RESERVED_FIELDS,
  SendGridStore,
  type Contact,
  type ContactInput,
  type FieldType,
  type Job,
} from './sendgrid-store';

export const MAX_CONTACTS_PER_UPSERT = 30_000;
/** "6MB of data" in SendGrid's docs; taken as 6 MiB of request body. */
export const MAX_UPSERT_BYTES = 6 * 1024 * 1024;
const SEARCH_RESULT_CAP = 50; // "Only the first 50 contacts that meet the search criteria will be returned."
const MAX_BATCH_IDS = 100;
const MAX_SEARCH_EMAILS = 100;
const MAX_CUSTOM_FIELDS = 500;

export interface RateLimitConfig {
  /** Requests per window per API key and endpoint (SendGrid budgets per endpoint). */
  limit: number;
  windowMs: number;
}

export interface EventWebhookSettings {
  id: string;
  signed: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SendGridAppContext {
  store: SendGridStore;
  apiKeys: Set<string>;
  rateLimit: RateLimitConfig;
  jobDelayMs: number;
  eventWebhook: EventWebhookSettings;
  publicKeyBase64: string;
  /** URL the webhook dispatcher posts to, shown in the settings endpoints. */
  webhookUrl(): string | undefined;
  baseUrl(): string;
}

type ErrorItem = { field?: string | null; message: string; error_id?: string };

export function sgErrors(res: Response, status: number, errors: ErrorItem[]): void {
  res.status(status).json({ errors });
}

/** SendGrid's 429 body and X-RateLimit-* headers; shared with the fault injector. */
export function tooManyRequests(res: Response, limit: number, resetEpochS: number): void {
  res.set({
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': String(resetEpochS),
  });
  sgErrors(res, 429, [{ field: null, message: 'too many requests' }]);
}

const str = (v: unknown): v is string => typeof v === 'string';

/** Request-level validation of a PUT /v3/marketing/contacts body; mirrors the spec's schema and limits. */
function validateUpsert(body: any, store: SendGridStore): ErrorItem[] {
  const errs: ErrorItem[] = [];
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return [{ field: 'body', message: 'invalid JSON body' }];
  if (body.list_ids !== undefined) {
    if (!Array.isArray(body.list_ids) || !body.list_ids.every(str))
      errs.push({ field: 'list_ids', message: 'list_ids must be an array of strings' });
    else
      for (const id of body.list_ids as string[])
        if (!store.lists.has(id)) errs.push({ field: 'list_ids', message: `list ID '${id}' does not exist` });
  }
  if (!Array.isArray(body.contacts)) {
    errs.push({ field: 'contacts', message: 'contacts is required and must be an array' });
    return errs;
  }
  if (body.contacts.length < 1) errs.push({ field: 'contacts', message: 'at least 1 contact is required' });
  if (body.contacts.length > MAX_CONTACTS_PER_UPSERT)
    errs.push({ field: 'contacts', message: `may not have more than ${MAX_CONTACTS_PER_UPSERT} contacts` });
  if (errs.length) return errs;
  const maxLen: Record<string, number> = {
    address_line_1: 100,
    address_line_2: 100,
    city: 60,
    country: 50,
    email: 254,
    external_id: 254,
    anonymous_id: 254,
    first_name: 50,
    last_name: 50,
    state_province_region: 50,
  };
  (body.contacts as unknown[]).forEach((c: any, i) => {
    if (errs.length >= 100) return; // enough to act on; SendGrid also truncates long error lists
    const at = `contacts[${i}]`;
    if (!c || typeof c !== 'object' || Array.isArray(c)) {
      errs.push({ field: at, message: 'must be an object' });
      return;
    }
    if (!IDENTIFIERS.some((k) => str(c[k]) && c[k].trim() !== ''))
      errs.push({
        field: at,
        message: 'at least one identifier (email, phone_number_id, external_id, anonymous_id) is required',
      });
    for (const k of CONTACT_TEXT_FIELDS)
      if (c[k] !== undefined && !str(c[k])) errs.push({ field: `${at}.${k}`, message: 'must be a string' });
      else if (str(c[k]) && maxLen[k] && c[k].length > maxLen[k])
        errs.push({ field: `${at}.${k}`, message: `length must be at most ${maxLen[k]}` });
    if (
      c.alternate_emails !== undefined &&
      (!Array.isArray(c.alternate_emails) || c.alternate_emails.length > 5)
    )
      errs.push({ field: `${at}.alternate_emails`, message: 'must be an array of at most 5 emails' });
    if (
      c.custom_fields !== undefined &&
      (typeof c.custom_fields !== 'object' || Array.isArray(c.custom_fields))
    )
      errs.push({ field: `${at}.custom_fields`, message: 'must be an object keyed by custom field ID' });
  });
  return errs;
}

export function createSendGridApp(ctx: SendGridAppContext): express.Router {
  const { store } = ctx;
  const api = express.Router();
  const buckets = new Map<string, { windowStart: number; used: number }>();

  // Stands in for the S3 download SendGrid links from errors_url: no API key needed, CSV with one row per error.
  api.get('/v3/marketing/contacts/imports/:id/errors.csv', (req, res) => {
    const job = store.jobs.get(String(req.params.id));
    if (!job || job.status === 'pending')
      return sgErrors(res, 404, [{ field: 'id', message: 'job not found' }]);
    const q = (s: string | number | undefined): string => `"${String(s ?? '').replace(/"/g, '""')}"`;
    const lines = ['index,email,phone_number_id,external_id,anonymous_id,error'];
    for (const e of job.errors)
      lines.push([e.index, ...IDENTIFIERS.map((k) => e.identifiers[k]), e.message].map(q).join(','));
    res.type('text/csv').send(lines.join('\n') + '\n');
  });

  // Auth first: SendGrid answers 401 before it looks at the body or the rate budget.
  api.use((req, res, next) => {
    const h = req.get('authorization');
    if (!h) return sgErrors(res, 401, [{ field: null, message: 'authorization required' }]);
    const m = /^Bearer (.+)$/.exec(h);
    if (!m || !ctx.apiKeys.has(m[1].trim()))
      return sgErrors(res, 401, [
        { field: null, message: 'The provided authorization grant is invalid, expired, or revoked' },
      ]);
    (req as any).sgKey = m[1].trim();
    next();
  });

  // Per key and endpoint budget, as SendGrid's X-RateLimit-* headers describe it.
  api.use((req, res, next) => {
    const { limit, windowMs } = ctx.rateLimit;
    const route = `${req.method} ${req.path.replace(/\/[0-9a-f-]{36}(?=\/|$)/g, '/{id}')}`;
    const key = `${(req as any).sgKey} ${route}`;
    const now = Date.now();
    let b = buckets.get(key);
    if (!b || now - b.windowStart >= windowMs) {
      b = { windowStart: now, used: 0 };
      buckets.set(key, b);
    }
    const reset = Math.ceil((b.windowStart + windowMs) / 1000);
    if (b.used >= limit) return tooManyRequests(res, limit, reset);
    b.used++;
    res.set({
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(limit - b.used),
      'X-RateLimit-Reset': String(reset),
    });
    next();
  });

  api.use(express.json({ limit: MAX_UPSERT_BYTES, type: () => true }));

  const base = (): string => ctx.baseUrl();
  const contactOut = (c: Contact): Record<string, unknown> => store.toApi(c, base());

  // ---- contacts ---------------------------------------------------------------------------------------------
  api.put('/v3/marketing/contacts', (req, res) => {
    const errs = validateUpsert(req.body, store);
    if (errs.length) return sgErrors(res, 400, errs);
    const contacts = req.body.contacts as ContactInput[];
    const listIds: string[] = req.body.list_ids ?? [];
    const job = store.newJob('upsert', contacts.length);
    schedule(job, () => {
      const stamp = store.now(); // one job, one timestamp, like a bulk write
      contacts.forEach((c, index) => {
        const r = store.upsertOne(c, listIds, stamp);
        if (r === 'created') job.created++;
        else if (r === 'updated') job.updated++;
        else job.errors.push({ index, identifiers: identifiersOf(c), message: r });
      });
    });
    res.status(202).json({ job_id: job.id });
  });

  api.delete('/v3/marketing/contacts', (req, res) => {
    const all = req.query.delete_all_contacts;
    const ids = req.query.ids;
    if (all !== undefined && all !== 'true')
      return sgErrors(res, 400, [
        { field: 'delete_all_contacts', message: 'must be "true" to delete all contacts' },
      ]);
    if (all === 'true' && ids !== undefined)
      return sgErrors(res, 400, [
        { field: 'ids', message: 'ids cannot be combined with delete_all_contacts' },
      ]);
    if (all !== 'true' && (typeof ids !== 'string' || ids.trim() === ''))
      return sgErrors(res, 400, [
        { field: 'ids', message: 'either ids or delete_all_contacts must be provided' },
      ]);
    const idList =
      all === 'true'
        ? undefined
        : (ids as string)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    const job = store.newJob('delete', idList ? idList.length : store.contacts.size);
    schedule(job, () => {
      const targets = idList ?? [...store.contacts.keys()];
      for (const id of targets) {
        const c = store.contacts.get(id);
        if (c) {
          store.removeContact(c);
          job.deleted++;
        }
      }
    });
    res.status(202).json({ job_id: job.id });
  });

  api.get('/v3/marketing/contacts', (_req, res) => {
    // "up to 50 of the most recent contacts … sorted by email address"
    const recent = topN(
      store.contacts.values(),
      SEARCH_RESULT_CAP,
      (a, b) => b.updatedAt - a.updatedAt || cmp(a.id, b.id),
    );
    recent.sort((a, b) => cmp(a.text.email ?? '', b.text.email ?? ''));
    res.json({
      result: recent.map(contactOut),
      contact_count: store.contacts.size,
      _metadata: { self: `${base()}/v3/marketing/contacts` },
    });
  });

  api.get('/v3/marketing/contacts/count', (_req, res) => {
    res.json({ contact_count: store.contacts.size, billable_count: store.contacts.size });
  });

  api.get('/v3/marketing/contacts/imports/:id', (req, res) => {
    const job = store.jobs.get(String(req.params.id));
    if (!job) return sgErrors(res, 404, [{ field: 'id', message: 'job not found' }]);
    res.json(jobOut(job));
  });

  api.post('/v3/marketing/contacts/search', (req, res) => {
    const query = req.body?.query;
    if (!str(query) || query.trim() === '')
      return sgErrors(res, 400, [{ field: 'query', message: 'query is required' }]);
    let plan;
    try {
      plan = planSgql(query, (n) => store.isSgqlField(n));
    } catch (e) {
      if (e instanceof SgqlError)
        return sgErrors(res, 400, [{ field: 'query', message: `invalid query: ${e.message}` }]);
      throw e;
    }
    // Which 50 SendGrid returns is undocumented (SGQL has no ORDER BY); the sandbox returns the oldest by
    // (updated_at, id), or the newest first when a test sets store.searchPicks. Search trails writes by the
    // store's indexLagMs (0 by default).
    const { page, count } = store.search(plan, SEARCH_RESULT_CAP);
    res.json({
      result: page.map(contactOut),
      contact_count: count,
      _metadata: { self: `${base()}/v3/marketing/contacts/search` },
    });
  });

  api.post('/v3/marketing/contacts/search/emails', (req, res) => {
    const emails = req.body?.emails;
    if (!Array.isArray(emails) || !emails.every(str))
      return sgErrors(res, 400, [{ field: 'emails', message: 'emails must be an array of strings' }]);
    if (emails.length > MAX_SEARCH_EMAILS)
      return sgErrors(res, 400, [
        { field: 'emails', message: `may not have more than ${MAX_SEARCH_EMAILS} emails` },
      ]);
    const wanted = emails.map((e) => e.trim().toLowerCase()).filter((e) => e !== '');
    const bad = wanted.filter((e) => !isValidEmail(e));
    if (bad.length)
      return sgErrors(
        res,
        400,
        bad.map((e) => ({ field: 'emails', message: `invalid email address: ${e}` })),
      );
    const result: Record<string, unknown> = {};
    let found = 0;
    for (const e of wanted) {
      const c = store.findByIdentifier('email', e) ?? findByAlternate(e);
      if (c) {
        found++;
        result[e] = { contact: contactOut(c) };
      } else result[e] = { error: 'contact not found' };
    }
    if (found === 0) return sgErrors(res, 404, [{ field: null, message: 'No contacts found' }]);
    res.json({ result });
  });

  const findByAlternate = (email: string): Contact | undefined => {
    for (const c of store.contacts.values()) if (c.alternate_emails?.includes(email)) return c;
    return undefined;
  };

  api.post('/v3/marketing/contacts/batch', (req, res) => {
    const ids = req.body?.ids;
    if (!Array.isArray(ids) || !ids.every(str))
      return sgErrors(res, 400, [{ field: 'ids', message: 'ids must be an array of strings' }]);
    if (ids.length > MAX_BATCH_IDS)
      return sgErrors(res, 400, [{ field: 'ids', message: `may not have more than ${MAX_BATCH_IDS} ids` }]);
    const found = ids.map((id) => store.contacts.get(id)).filter((c): c is Contact => !!c);
    if (found.length === 0) return sgErrors(res, 404, [{ field: 'ids', message: 'no contacts found' }]);
    res.json({ result: found.map(contactOut) });
  });

  api.get('/v3/marketing/contacts/:id', (req, res) => {
    const c = store.contacts.get(String(req.params.id));
    if (!c) return sgErrors(res, 404, [{ field: 'id', message: 'Contact not found' }]);
    res.json(contactOut(c));
  });

  // ---- field definitions ------------------------------------------------------------------------------------
  const fieldOut = (f: { id: string; name: string; field_type: FieldType }): Record<string, unknown> => ({
    id: f.id,
    name: f.name,
    field_type: f.field_type,
    _metadata: { self: `${base()}/v3/marketing/field_definitions/${f.id}` },
  });
  const nameProblem = (name: unknown, exceptId?: string): string | undefined => {
    if (!str(name) || name.length < 1 || name.length > 100) return 'name must be 1 to 100 characters';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      return 'name may contain only letters, digits and underscores, and must not start with a digit';
    if (RESERVED_FIELDS.some((f) => f.name.toLowerCase() === name.toLowerCase()))
      return `'${name}' collides with a reserved field name`;
    const other = store.fieldByName(name);
    if (other && other.id !== exceptId) return `a custom field named '${name}' already exists`;
    return undefined;
  };

  api.get('/v3/marketing/field_definitions', (_req, res) => {
    res.json({
      custom_fields: store.customFields.map((f) => ({ id: f.id, name: f.name, field_type: f.field_type })),
      reserved_fields: RESERVED_FIELDS,
      _metadata: { self: `${base()}/v3/marketing/field_definitions` },
    });
  });

  api.post('/v3/marketing/field_definitions', (req, res) => {
    const { name, field_type } = req.body ?? {};
    const problem = nameProblem(name);
    if (problem) return sgErrors(res, 400, [{ field: 'name', message: problem }]);
    if (!['Text', 'Number', 'Date'].includes(field_type))
      return sgErrors(res, 400, [
        { field: 'field_type', message: 'field_type must be one of Text, Number, Date' },
      ]);
    if (store.customFields.length >= MAX_CUSTOM_FIELDS)
      return sgErrors(res, 400, [
        { field: 'name', message: `you can have at most ${MAX_CUSTOM_FIELDS} custom fields` },
      ]);
    res.json(fieldOut(store.createField(name, field_type)));
  });

  api.patch('/v3/marketing/field_definitions/:id', (req, res) => {
    const f = store.fieldById(String(req.params.id));
    if (!f) return sgErrors(res, 404, [{ field: 'custom_field_id', message: 'custom field not found' }]);
    const problem = nameProblem(req.body?.name, f.id);
    if (problem) return sgErrors(res, 400, [{ field: 'name', message: problem }]);
    f.name = req.body.name;
    res.json(fieldOut(f));
  });

  api.delete('/v3/marketing/field_definitions/:id', (req, res) => {
    if (!store.deleteField(String(req.params.id)))
      return sgErrors(res, 404, [{ field: 'custom_field_id', message: 'custom field not found' }]);
    res.status(204).end();
  });

  // ---- lists ------------------------------------------------------------------------------------------------
  const listOut = (l: { id: string; name: string }): Record<string, unknown> => ({
    id: l.id,
    name: l.name,
    contact_count: store.listContactCount(l.id),
    _metadata: { self: `${base()}/v3/marketing/lists/${l.id}` },
  });

  api.post('/v3/marketing/lists', (req, res) => {
    const name = req.body?.name;
    if (!str(name) || name.length < 1 || name.length > 100)
      return sgErrors(res, 400, [{ field: 'name', message: 'name must be 1 to 100 characters' }]);
    if ([...store.lists.values()].some((l) => l.name === name))
      return sgErrors(res, 400, [{ field: 'name', message: 'a list with this name already exists' }]);
    const l = { id: randomUUID(), name };
    store.lists.set(l.id, l);
    res.status(201).json(listOut(l));
  });

  api.get('/v3/marketing/lists', (req, res) => {
    const size = Number(req.query.page_size ?? 100);
    if (!Number.isInteger(size) || size < 1 || size > 1000)
      return sgErrors(res, 400, [{ field: 'page_size', message: 'page_size must be between 1 and 1000' }]);
    const all = [...store.lists.values()];
    const start =
      Number(req.query.page_token ? Buffer.from(String(req.query.page_token), 'base64url').toString() : 0) ||
      0;
    const page = all.slice(start, start + size);
    const meta: Record<string, unknown> = {
      self: `${base()}/v3/marketing/lists?page_size=${size}&page_token=${req.query.page_token ?? ''}`,
      count: all.length,
    };
    if (start + size < all.length)
      meta.next = `${base()}/v3/marketing/lists?page_size=${size}&page_token=${Buffer.from(String(start + size)).toString('base64url')}`;
    res.json({ result: page.map(listOut), _metadata: meta });
  });

  api.get('/v3/marketing/lists/:id', (req, res) => {
    const l = store.lists.get(String(req.params.id));
    // The spec documents this 404 body as a bare array of errors.
    if (!l) return res.status(404).json([{ field: 'id', message: 'list not found' }]);
    const out = listOut(l);
    if (req.query.contact_sample === 'true') {
      const sample = [...store.contacts.values()].find((c) => c.list_ids.includes(l.id));
      if (sample) out.contact_sample = contactOut(sample);
    }
    res.json(out);
  });

  api.patch('/v3/marketing/lists/:id', (req, res) => {
    const l = store.lists.get(String(req.params.id));
    if (!l) return sgErrors(res, 404, [{ field: 'id', message: 'list not found' }]);
    const name = req.body?.name;
    if (!str(name) || name.length < 1 || name.length > 100)
      return sgErrors(res, 400, [{ field: 'name', message: 'name must be 1 to 100 characters' }]);
    l.name = name;
    res.json(listOut(l));
  });

  api.delete('/v3/marketing/lists/:id', (req, res) => {
    const id = String(req.params.id);
    if (!store.lists.has(id)) return sgErrors(res, 404, [{ field: 'id', message: 'list not found' }]);
    if (req.query.delete_contacts === 'true') {
      const members = [...store.contacts.values()].filter((c) => c.list_ids.includes(id)).length;
      store.lists.delete(id);
      const job = store.newJob('delete', members);
      schedule(job, () => {
        for (const c of [...store.contacts.values()])
          if (c.list_ids.includes(id)) {
            store.removeContact(c);
            job.deleted++;
          }
      });
      return res.status(200).json({ job_id: job.id });
    }
    store.deleteList(id, false);
    res.status(204).end();
  });

  api.get('/v3/marketing/lists/:id/contacts/count', (req, res) => {
    const id = String(req.params.id);
    if (!store.lists.has(id)) return sgErrors(res, 404, [{ field: 'id', message: 'list not found' }]);
    const n = store.listContactCount(id);
    res.json({ contact_count: n, billable_count: n });
  });

  api.delete('/v3/marketing/lists/:id/contacts', (req, res) => {
    const id = String(req.params.id);
    if (!store.lists.has(id)) return sgErrors(res, 404, [{ field: 'id', message: 'list not found' }]);
    const ids = req.query.contact_ids;
    if (typeof ids !== 'string' || ids === '')
      return sgErrors(res, 400, [{ field: 'contact_ids', message: 'contact_ids is required' }]);
    const targets = ids.split(',').map((s) => s.trim());
    const job = store.newJob('delete', targets.length);
    schedule(job, () => {
      for (const cid of targets) {
        const c = store.contacts.get(cid);
        if (c && c.list_ids.includes(id)) c.list_ids = c.list_ids.filter((l) => l !== id);
      }
    });
    res.status(202).json({ job_id: job.id });
  });

  // ---- Event Webhook settings ------------------------------------------------------------------------------
  const signedOut = (id: string): Record<string, unknown> => ({
    id,
    public_key: ctx.eventWebhook.signed ? ctx.publicKeyBase64 : '',
  });
  // Without an id SendGrid answers for the oldest webhook, with `id: ""` (spec example "No ID").
  api.get('/v3/user/webhooks/event/settings/signed', (_req, res) => res.json(signedOut('')));
  api.get('/v3/user/webhooks/event/settings/signed/:id', (req, res) => {
    if (req.params.id !== ctx.eventWebhook.id)
      return sgErrors(res, 404, [{ message: 'Invalid id provided.' }]);
    res.json(signedOut(ctx.eventWebhook.id));
  });
  const toggleSigned = (req: Request, res: Response, id: string): void => {
    if (typeof req.body?.enabled !== 'boolean')
      return sgErrors(res, 400, [{ field: 'enabled', message: 'enabled must be a boolean' }]);
    ctx.eventWebhook.signed = req.body.enabled;
    ctx.eventWebhook.updatedAt = new Date().toISOString();
    res.json(signedOut(id));
  };
  api.patch('/v3/user/webhooks/event/settings/signed', (req, res) => toggleSigned(req, res, ''));
  api.patch('/v3/user/webhooks/event/settings/signed/:id', (req, res) => {
    if (req.params.id !== ctx.eventWebhook.id)
      return sgErrors(res, 404, [{ message: 'Invalid id provided.' }]);
    toggleSigned(req, res, ctx.eventWebhook.id);
  });
  const webhookOut = (): Record<string, unknown> => ({
    enabled: !!ctx.webhookUrl(),
    url: ctx.webhookUrl() ?? '',
    group_resubscribe: true,
    delivered: true,
    group_unsubscribe: true,
    spam_report: true,
    bounce: true,
    deferred: true,
    unsubscribe: true,
    processed: true,
    open: true,
    click: true,
    dropped: true,
    friendly_name: 'Syncline sandbox',
    id: ctx.eventWebhook.id,
    oauth_client_id: null,
    oauth_token_url: null,
    public_key: ctx.eventWebhook.signed ? ctx.publicKeyBase64 : '',
    created_date: ctx.eventWebhook.createdAt,
    updated_date: ctx.eventWebhook.updatedAt,
  });
  api.get('/v3/user/webhooks/event/settings/all', (_req, res) =>
    res.json({ max_allowed: 5, webhooks: [webhookOut()] }),
  );

  // Unknown API path: SendGrid's generic 404 body.
  api.use((_req, res) => sgErrors(res, 404, [{ field: null, message: 'resource not found' }]));

  // Body errors (too large, bad JSON) in SendGrid's error shape. The rest of an oversized body is drained
  // before answering so the client sees the 400 instead of a reset connection.
  api.use((err: any, req: Request, res: Response, _next: NextFunction) => {
    const answer = (status: number, e: ErrorItem[]): void => {
      if (req.readableEnded || req.complete) return sgErrors(res, status, e);
      req.on('end', () => sgErrors(res, status, e));
      req.on('error', () => undefined);
      req.resume();
    };
    if (err?.type === 'entity.too.large')
      return answer(400, [{ field: 'contacts', message: 'request body exceeds the 6MB limit' }]);
    if (err?.type === 'entity.parse.failed')
      return answer(400, [{ field: 'body', message: 'invalid JSON in request body' }]);
    answer(500, [{ field: null, message: 'internal server error' }]);
  });

  function schedule(job: Job, work: () => void): void {
    // SendGrid processes jobs asynchronously and in order; a short delay makes "pending" observable.
    const t = setTimeout(() => {
      try {
        work();
      } catch (e) {
        job.errors.push({ index: -1, identifiers: {}, message: String(e) });
      }
      store.finishJob(job);
    }, ctx.jobDelayMs);
    t.unref();
  }

  function jobOut(job: Job): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: job.id,
      status: job.status,
      job_type: job.job_type,
      started_at: new Date(job.startedAt).toISOString(),
    };
    if (job.status !== 'pending') {
      const results: Record<string, unknown> = {
        requested_count: job.requested,
        created_count: job.created,
        updated_count: job.updated,
        deleted_count: job.deleted,
        errored_count: job.errors.length,
      };
      if (job.errors.length)
        results.errors_url = `${base()}/v3/marketing/contacts/imports/${job.id}/errors.csv`;
      out.results = results;
      out.finished_at = new Date(job.finishedAt!).toISOString();
    }
    return out;
  }

  return api;
}

function identifiersOf(c: ContactInput): Partial<Record<(typeof IDENTIFIERS)[number], string>> {
  const out: Partial<Record<(typeof IDENTIFIERS)[number], string>> = {};
  for (const k of IDENTIFIERS) if (str(c[k])) out[k] = c[k] as string;
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The first n items by `order` without sorting everything (searches over 100k contacts stay cheap). */
function topN<T>(items: Iterable<T>, n: number, order: (a: T, b: T) => number): T[] {
  const best: T[] = [];
  for (const it of items) {
    if (best.length < n) {
      best.push(it);
      if (best.length === n) best.sort(order);
    } else if (order(it, best[n - 1]) < 0) {
      let i = n - 1;
      while (i > 0 && order(it, best[i - 1]) < 0) i--;
      best.splice(i, 0, it);
      best.pop();
    }
  }
  if (best.length < n) best.sort(order);
  return best;
}
