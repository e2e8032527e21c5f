// The __Name__ sandbox: an in-memory REST API of contacts on a loopback port, built on the sandbox kit. It serves
// keyset pages by (updated_at, id), batch upsert / read / delete, signs webhooks with HMAC-SHA256, fails on demand
// through the kit's FaultInjector, and mounts the kit's /__admin routes. It emulates the vendor; it never imports
// the connector, so the two cannot agree on a mistake.
import { createHmac, randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  createAdminRouter,
  FaultInjector,
  type FaultResponder,
  SandboxAdminError,
  type SandboxOptions,
  type SandboxState,
  startServer,
  type VendorSandbox,
  WebhookDispatcher,
} from '../../../src/sandbox';
import { contactId, seedContact, type StoredContact } from './fixtures';

export const MAX_BATCH = 100;
export const MAX_PAGE = 100;
export const SIGNATURE_HEADER = 'x-__id__-signature';
export const TIMESTAMP_HEADER = 'x-__id__-timestamp';
/** Fields a client may write; anything else is an INVALID_FIELD error for that record. */
const WRITABLE = [
  'email',
  'first_name',
  'last_name',
  'phone',
  'company',
  'job_title',
  'city',
  'country',
  'lifecycle_stage',
  'email_opt_out',
] as const;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Json = Record<string, unknown>;

export interface __Class__SandboxOptions extends SandboxOptions {
  apiKey?: string;
  webhookSecret?: string;
}

export interface __Class__Sandbox extends VendorSandbox {
  store: __Class__Store;
  /** Headers a genuine delivery of `body` sent at `timestamp` (epoch seconds) carries. */
  sign(body: string, timestamp: string, secret?: string): Record<string, string>;
}

/** Live contacts and tombstones, with a clock that never repeats a timestamp unless asked to (mass updates). */
export class __Class__Store {
  readonly contacts = new Map<string, StoredContact>();
  readonly tombstones = new Map<string, { id: string; updated_at: number }>();
  private lastTick = 0;
  private nextId = 1;

  seed(count: number, seed: number): void {
    this.contacts.clear();
    this.tombstones.clear();
    for (let i = 0; i < count; i++) this.put(seedContact(i, seed));
    this.nextId = count + 1;
  }

  /** Strictly increasing epoch ms, so single edits never share a timestamp by accident. */
  tick(): number {
    this.lastTick = Math.max(Date.now(), this.lastTick + 1);
    return this.lastTick;
  }

  newId(): string {
    return contactId(this.nextId++);
  }

  put(c: StoredContact): void {
    this.contacts.set(c.id, c);
    this.lastTick = Math.max(this.lastTick, c.updated_at);
  }

  /** Rows strictly after (t, id) in (updated_at, id) order; tombstones only when asked for. */
  pageAfter(t: number, id: string, limit: number, includeDeleted: boolean) {
    const rows: { id: string; updated_at: number; contact?: StoredContact }[] = [];
    for (const c of this.contacts.values()) rows.push({ id: c.id, updated_at: c.updated_at, contact: c });
    if (includeDeleted) rows.push(...this.tombstones.values());
    const after = rows.filter((r) => r.updated_at > t || (r.updated_at === t && r.id > id));
    after.sort((a, b) => a.updated_at - b.updated_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { rows: after.slice(0, limit), hasMore: after.length > limit };
  }
}

export function toApi(c: StoredContact): Json {
  return {
    ...c,
    created_at: new Date(c.created_at).toISOString(),
    updated_at: new Date(c.updated_at).toISOString(),
  };
}

function apiError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** How the vendor fails: its own status codes, headers and error bodies. */
const faultResponder: FaultResponder = {
  tooManyRequests: (_req, res) => {
    res.set('Retry-After', '1');
    apiError(res, 429, 'RATE_LIMITED', 'too many requests');
  },
  serverError: (_req, res) => apiError(res, 500, 'INTERNAL', 'internal error'),
  unavailable: (_req, res) => apiError(res, 503, 'UNAVAILABLE', 'service unavailable'),
};

export async function startSandbox(options: __Class__SandboxOptions = {}): Promise<__Class__Sandbox> {
  const apiKey = options.apiKey ?? `key_${randomBytes(12).toString('hex')}`;
  const webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(16).toString('hex')}`;
  const store = new __Class__Store();
  const faults = new FaultInjector();
  const webhooks = new WebhookDispatcher({ vendor: '__id__', retryDelaysMs: [50, 200, 1_000] });
  if (options.webhookUrl) webhooks.configure({ url: options.webhookUrl });
  let seedValue = options.seed ?? 1;
  store.seed(options.count ?? 0, seedValue);
  let eventCounter = 0;

  const sign = (body: string, timestamp: string, secret = webhookSecret): Record<string, string> => ({
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`,
  });

  /** One delivery per change set, as the vendor batches them; signed per attempt with a fresh timestamp. */
  const notify = (
    type: string,
    contacts: { id: string; updated_at: number; contact?: StoredContact }[],
  ): void => {
    if (contacts.length === 0) return;
    const events = contacts.map((c) => ({
      id: `evt_${++eventCounter}_${c.id}`,
      type,
      contact_id: c.id,
      occurred_at: new Date(c.updated_at).toISOString(),
      ...(c.contact ? { contact: toApi(c.contact) } : {}),
    }));
    const body = JSON.stringify({ events });
    webhooks.send({
      id: events[0].id,
      body,
      headers: {},
      contentType: 'application/json',
      sign: () => sign(body, String(Math.floor(Date.now() / 1000))),
    });
  };

  const edit = (ids: string[], fields: Json, at: number): StoredContact[] => {
    const bad = Object.keys(fields).filter((k) => !(WRITABLE as readonly string[]).includes(k));
    if (bad.length) throw new SandboxAdminError(400, `unknown field(s): ${bad.join(', ')}`);
    return ids.map((id) => {
      const c = store.contacts.get(id);
      if (!c) throw new SandboxAdminError(404, `unknown record ${id}`);
      Object.assign(c, fields, { updated_at: at });
      return c;
    });
  };

  const api = express.Router();
  api.use(express.json({ limit: '5mb' }));
  api.use((req: Request, res: Response, next: NextFunction) => {
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return apiError(res, 401, 'UNAUTHORIZED', 'invalid API key');
    next();
  });

  api.get('/me', (_req, res) => {
    res.json({ account: `acct_${seedValue}` });
  });

  api.get('/contacts', (req, res) => {
    const limit = Number(req.query.limit ?? MAX_PAGE);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      return apiError(res, 400, 'INVALID_LIMIT', `limit must be an integer from 1 to ${MAX_PAGE}`);
    const t = req.query.after_ts === undefined ? -Infinity : Date.parse(String(req.query.after_ts));
    if (Number.isNaN(t))
      return apiError(res, 400, 'INVALID_CURSOR', 'after_ts must be an ISO 8601 date-time');
    const page = store.pageAfter(
      t,
      String(req.query.after_id ?? ''),
      limit,
      req.query.include_deleted === 'true',
    );
    res.json({
      results: page.rows.map((r) =>
        r.contact
          ? toApi(r.contact)
          : { id: r.id, deleted: true, updated_at: new Date(r.updated_at).toISOString() },
      ),
      has_more: page.hasMore,
    });
  });

  api.post('/contacts/batch/read', (req, res) => {
    const ids = (req.body as Json).ids;
    if (!Array.isArray(ids) || ids.length > MAX_BATCH)
      return apiError(res, 400, 'BATCH_TOO_LARGE', `ids must be an array of at most ${MAX_BATCH}`);
    res.json({
      results: ids.flatMap((id) =>
        store.contacts.has(String(id)) ? [toApi(store.contacts.get(String(id)) as StoredContact)] : [],
      ),
    });
  });

  api.post('/contacts/batch/upsert', (req, res) => {
    const inputs = (req.body as Json).inputs;
    if (!Array.isArray(inputs)) return apiError(res, 400, 'INVALID_BODY', 'inputs must be an array');
    if (inputs.length > MAX_BATCH)
      return apiError(res, 400, 'BATCH_TOO_LARGE', `at most ${MAX_BATCH} inputs per request`);
    const created: StoredContact[] = [];
    const updated: StoredContact[] = [];
    const results = inputs.map((input: Json, index) => {
      const { id, ...fields } = input ?? {};
      const bad = Object.keys(fields).filter((k) => !(WRITABLE as readonly string[]).includes(k));
      if (bad.length)
        return {
          index,
          status: 'error',
          error: { code: 'INVALID_FIELD', message: `unknown field(s): ${bad.join(', ')}` },
        };
      const email = typeof fields.email === 'string' ? fields.email.trim().toLowerCase() : undefined;
      if (fields.email !== undefined && fields.email !== null && (!email || !EMAIL.test(email)))
        return {
          index,
          status: 'error',
          error: { code: 'INVALID_EMAIL', message: 'email is not a valid address' },
        };
      let existing = typeof id === 'string' ? store.contacts.get(id) : undefined;
      if (typeof id === 'string' && !existing)
        return { index, status: 'error', error: { code: 'NOT_FOUND', message: `no contact ${id}` } };
      existing ??= email
        ? [...store.contacts.values()].find((c) => c.email?.trim().toLowerCase() === email)
        : undefined;
      if (!existing) {
        if (!email)
          return {
            index,
            status: 'error',
            error: { code: 'MISSING_EMAIL', message: 'a new contact needs an email' },
          };
        const at = store.tick();
        const c: StoredContact = {
          id: store.newId(),
          email: null,
          first_name: null,
          last_name: null,
          phone: null,
          company: null,
          job_title: null,
          city: null,
          country: null,
          lifecycle_stage: null,
          email_opt_out: null,
          ...(fields as Partial<StoredContact>),
          created_at: at,
          updated_at: at,
        };
        store.put(c);
        created.push(c);
        return { index, status: 'created', id: c.id };
      }
      const changed = Object.entries(fields).some(([k, v]) => (existing as unknown as Json)[k] !== v);
      if (!changed) return { index, status: 'unchanged', id: existing.id };
      Object.assign(existing, fields, { updated_at: store.tick() });
      updated.push(existing);
      return { index, status: 'updated', id: existing.id };
    });
    notify(
      'contact.created',
      created.map((c) => ({ ...c, contact: c })),
    );
    notify(
      'contact.updated',
      updated.map((c) => ({ ...c, contact: c })),
    );
    res.json({ results });
  });

  api.post('/contacts/batch/delete', (req, res) => {
    const ids = (req.body as Json).ids;
    if (!Array.isArray(ids) || ids.length > MAX_BATCH)
      return apiError(res, 400, 'BATCH_TOO_LARGE', `ids must be an array of at most ${MAX_BATCH}`);
    const gone: { id: string; updated_at: number }[] = [];
    const results = ids.map((raw) => {
      const id = String(raw);
      if (!store.contacts.delete(id)) return { id, status: 'not_found' };
      const tomb = { id, updated_at: store.tick() };
      store.tombstones.set(id, tomb);
      gone.push(tomb);
      return { id, status: 'deleted' };
    });
    notify('contact.deleted', gone);
    res.json({ results });
  });

  const target = {
    faults,
    webhooks,
    seed(count: number, seed?: number) {
      seedValue = seed ?? seedValue;
      store.seed(count, seedValue);
    },
    reset() {
      store.seed(0, seedValue);
      faults.reset();
    },
    mutate(id: string, fields: Json) {
      const [c] = edit([id], fields, store.tick());
      notify('contact.updated', [{ ...c, contact: c }]);
      return toApi(c);
    },
    /** One shared timestamp for every record: a mass update, as a vendor user's bulk edit does it. */
    massUpdate(ids: string[] | undefined, fields: Json) {
      const changed = edit(ids ?? [...store.contacts.keys()], fields, store.tick());
      notify(
        'contact.updated',
        changed.map((c) => ({ ...c, contact: c })),
      );
      return { updated: changed.length };
    },
    state(): SandboxState {
      return {
        summary: { contacts: store.contacts.size, deleted: store.tombstones.size, seed: seedValue },
        records: [...store.contacts.values()].map(toApi),
      };
    },
  };

  const app = express();
  app.use('/__admin', createAdminRouter(target));
  app.use('/v1', faults.middleware(faultResponder), api);
  // Malformed JSON and other body errors answer like the vendor, not with express's HTML page.
  app.use((err: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    apiError(res, err.status && err.status < 500 ? err.status : 500, 'BAD_REQUEST', err.message ?? 'error');
  });
  const server = await startServer(app, options.port ?? 0, options.host);

  return {
    vendor: '__id__',
    url: server.url,
    faults,
    webhooks,
    credentials: { apiKey, webhookSecret },
    store,
    sign,
    seed: target.seed,
    reset: target.reset,
    mutate: (id, fields) => void target.mutate(id, fields),
    massUpdate: (ids, fields) => void target.massUpdate(ids, fields),
    async close() {
      await webhooks.close();
      await server.close();
    },
  };
}
