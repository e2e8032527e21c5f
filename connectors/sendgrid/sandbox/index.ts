// Entry point of the SendGrid Marketing sandbox: wires the emulated v3 API, the kit's fault injector,
// webhook dispatcher and admin router, deterministic seeding, and the signed Event Webhook.
import express from 'express';
import { randomUUID } from 'node:crypto';
import { createAdminRouter, SandboxAdminError } from '../../../src/sandbox/admin';
import { FaultInjector } from '../../../src/sandbox/faults';
import { generatePerson } from '../../../src/sandbox/people';
import { createRng } from '../../../src/sandbox/rng';
import type { SandboxOptions, SandboxState, VendorSandbox } from '../../../src/sandbox/sandbox.types';
import { startServer } from '../../../src/sandbox/server';
import { WebhookDispatcher, type WebhookDelivery } from '../../../src/sandbox/webhooks';
import {
  buildEvent,
  EVENT_TYPES,
  generateSigningKeys,
  signEventPayload,
  type EventSpec,
} from './sendgrid-events';
import {
  createSendGridApp,
  sgErrors,
  tooManyRequests,
  type RateLimitConfig,
  type SendGridAppContext,
} from './sendgrid-sandbox';
import {
  isValidEmail,
  SendGridStore,
  snapshot,
  type Contact,
  type ContactTextField,
  CONTACT_TEXT_FIELDS,
} from './sendgrid-store';

export { MAX_CONTACTS_PER_UPSERT, MAX_UPSERT_BYTES } from './sendgrid-sandbox';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_TYPES, type EventSpec } from './sendgrid-events';

export interface SendGridSandboxOptions extends SandboxOptions {
  apiKey?: string;
  rateLimit?: Partial<RateLimitConfig>;
  /** Delay before an upsert/delete job runs (SendGrid takes seconds to minutes). Default 150 ms. */
  jobDelayMs?: number;
  /** Signed Event Webhook on (default) or off, as toggled by PATCH …/event/settings/signed. */
  signedWebhook?: boolean;
  /** SendGrid retries a failed POST for 24 h with growing gaps; scaled down here. */
  webhookRetryDelaysMs?: number[];
  /** Search indexing lag for every write, in ms (0, the default: search sees a write at once). */
  indexLagMs?: number;
}

export interface SendGridSandbox extends VendorSandbox {
  credentials: { apiKey: string; baseUrl: string; webhookPublicKey: string };
  store: SendGridStore;
  configureRateLimit(p: Partial<RateLimitConfig>): void;
  setJobDelay(ms: number): void;
  /** Builds, signs and queues one Event Webhook POST (an array of events); returns what was queued. */
  sendEvents(events: EventSpec[]): { id: string; body: string; headers: Record<string, string> };
  /** Signs an arbitrary body as SendGrid would, so tests can forge, replay stale or tamper. */
  sign(body: string, timestamp?: string): Record<string, string>;
  state(): SandboxState;
  /** Moves SendGrid's clock (timestamps of later writes, the answers' Date header); never the process's. */
  advanceClock(ms: number): void;
  /** Search indexing lag for later writes (ms); 0 = search sees a write at once. */
  setIndexLag(ms: number): void;
  /** Indexes every write still waiting for the search index. */
  flushSearchIndex(): void;
  /** Which matches a search answers when more match than it returns: the oldest (default) or the newest. */
  setSearchPicks(picks: 'oldest' | 'newest'): void;
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { limit: 600, windowMs: 60_000 };
export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1600];

const SEEDED_FIELDS = [
  ['lead_source', 'Text'],
  ['lifecycle_stage', 'Text'],
  ['total_spent', 'Number'],
  ['order_count', 'Number'],
] as const;

export async function startSandbox(opts: SendGridSandboxOptions = {}): Promise<SendGridSandbox> {
  const store = new SendGridStore();
  store.indexLagMs = opts.indexLagMs ?? 0;
  const keys = generateSigningKeys();
  const apiKey = opts.apiKey ?? `SG.syncline-sandbox.${randomUUID().replace(/-/g, '')}`;
  const faults = new FaultInjector();
  const webhooks = new WebhookDispatcher({
    vendor: 'sendgrid',
    retryDelaysMs: opts.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
  });
  if (opts.webhookUrl) webhooks.configure({ url: opts.webhookUrl });
  let url = '';
  const now = new Date().toISOString();
  const ctx: SendGridAppContext = {
    store,
    apiKeys: new Set([apiKey]),
    rateLimit: { ...DEFAULT_RATE_LIMIT, ...opts.rateLimit },
    jobDelayMs: opts.jobDelayMs ?? 150,
    eventWebhook: { id: randomUUID(), signed: opts.signedWebhook ?? true, createdAt: now, updatedAt: now },
    publicKeyBase64: keys.publicKeyBase64,
    webhookUrl: () => webhooks.config.url,
    baseUrl: () => url,
  };

  const seed = (count: number, seedNo = opts.seed ?? 1): void => {
    store.clear();
    const fieldIds = SEEDED_FIELDS.map(([n, t]) => store.createField(n, t).id);
    const rng = createRng(seedNo);
    // Same 32 draws as before (same ids for a seed). One reused buffer and a join: `+=` would leave each id
    // as a rope of ~36 string nodes, which cost more memory than the rest of the contact.
    const hex: string[] = [];
    const uuid = (): string => {
      hex.length = 0;
      for (let n = 0; n < 32; n++) {
        const d = Math.floor(rng.next() * 16);
        hex.push((n === 12 ? 4 : n === 16 ? (d & 3) | 8 : d).toString(16));
        if (n === 7 || n === 11 || n === 15 || n === 19) hex.push('-');
      }
      return hex.join('');
    };
    // Fixed epoch so the same seed gives the same timestamps on every run.
    const epoch = Date.UTC(2024, 0, 1);
    const year = 365 * 24 * 3600 * 1000;
    // One person at a time (person i is the same whatever the count): holding 100k SeedPerson objects at once
    // pushed the seeded sandbox's peak RSS past 300 MB.
    // Names, cities, countries and custom values repeat across people; sharing one copy of each (and flat
    // rather than concatenated strings) keeps 100k seeded contacts well inside the memory budget.
    const pool = new Map<string, string>();
    const intern = (s: string): string => {
      let v = pool.get(s);
      if (v === undefined) pool.set(s, (v = s));
      return v;
    };
    const noLists: string[] = []; // lists are always replaced, never pushed to, so seeded contacts share one
    for (let i = 0; i < count; i++) {
      const p = generatePerson(i, seedNo);
      const createdAt = epoch + Math.floor(rng.next() * year);
      const updatedAt = createdAt + Math.floor(rng.next() * year * 0.5);
      const email = p.email?.trim().toLowerCase();
      const c: Contact = { id: uuid(), text: {}, list_ids: noLists, createdAt, updatedAt };
      // SendGrid only holds contacts with a valid identifier; people without a usable email get an external_id.
      if (email && isValidEmail(email) && !store.findByIdentifier('email', email)) c.text.email = email;
      else c.text.external_id = `seed-${seedNo}-${i}`;
      if (p.firstName) c.text.first_name = intern(p.firstName.slice(0, 50));
      if (p.lastName) c.text.last_name = intern(p.lastName.slice(0, 50));
      if (p.city) c.text.city = intern(p.city.slice(0, 60));
      if (p.country) c.text.country = intern(p.country.slice(0, 50));
      if (p.phone) c.text.phone_number = p.phone;
      const custom: Record<string, string | number> = {};
      if (p.leadSource) custom[fieldIds[0]] = intern(p.leadSource);
      if (p.lifecycleStage) custom[fieldIds[1]] = intern(p.lifecycleStage);
      if (p.totalSpent !== undefined && !Number.isNaN(Number(p.totalSpent)))
        custom[fieldIds[2]] = Number(p.totalSpent);
      if (p.orderCount !== undefined) custom[fieldIds[3]] = p.orderCount;
      if (Object.keys(custom).length) c.custom = custom;
      store.insert(c);
    }
  };

  const applyFields = (c: Contact, fields: Record<string, unknown>, stamp: number): void => {
    for (const [k, v] of Object.entries(fields)) {
      if ((CONTACT_TEXT_FIELDS as readonly string[]).includes(k)) {
        if (v === null || v === undefined || v === '') delete c.text[k as ContactTextField];
        else c.text[k as ContactTextField] = k === 'email' ? String(v).toLowerCase() : String(v);
        continue;
      }
      const f = store.fieldByName(k) ?? store.fieldById(k);
      if (!f) throw new SandboxAdminError(400, `unknown field '${k}'`);
      c.custom ??= {};
      if (v === null || v === undefined) delete c.custom[f.id];
      else c.custom[f.id] = f.field_type === 'Number' ? Number(v) : String(v);
    }
    c.updatedAt = stamp;
  };
  // Re-inserting keeps the identifier indexes right when an identifier changed.
  const edit = (c: Contact, fields: Record<string, unknown>, stamp: number): void => {
    const before = snapshot(c);
    store.removeContact(c);
    applyFields(c, fields, stamp);
    store.insert(c);
    store.lagIndex(c, before, stamp);
  };

  const state = (): SandboxState => ({
    summary: {
      contacts: store.contacts.size,
      lists: store.lists.size,
      custom_fields: store.customFields.length,
      jobs: store.jobs.size,
      pending_jobs: [...store.jobs.values()].filter((j) => j.status === 'pending').length,
    },
    records: [...store.contacts.values()].map((c) => store.toApi(c, url)),
  });

  const sign = (body: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> =>
    signEventPayload(keys.privateKey, timestamp, body);

  const sendEvents = (events: EventSpec[]): { id: string; body: string; headers: Record<string, string> } => {
    for (const e of events)
      if (!EVENT_TYPES.includes(e.event)) throw new SandboxAdminError(400, `unknown event type '${e.event}'`);
    const body = JSON.stringify(events.map(buildEvent));
    const id = randomUUID();
    const signed = ctx.eventWebhook.signed;
    const headers = signed ? sign(body) : {};
    const delivery: WebhookDelivery = {
      id,
      body,
      headers: { 'User-Agent': 'SendGrid Event API' },
      contentType: 'application/json',
      // Each attempt is signed afresh so a retry's timestamp is current, as receivers check freshness.
      sign: signed ? () => sign(body) : undefined,
    };
    webhooks.send(delivery);
    return { id, body, headers };
  };

  const sandbox: SendGridSandbox = {
    vendor: 'sendgrid',
    url: '',
    faults,
    webhooks,
    credentials: { apiKey, baseUrl: '', webhookPublicKey: keys.publicKeyBase64 },
    store,
    seed,
    reset: () => {
      store.clear();
      store.clockOffsetMs = 0;
      store.indexLagMs = 0;
      store.searchPicks = 'oldest';
      faults.reset();
      void webhooks.reset();
    },
    mutate: (id, fields) => {
      const c = store.contacts.get(id);
      if (!c) throw new SandboxAdminError(404, `no contact ${id}`);
      edit(c, fields, store.now());
    },
    massUpdate: (ids, fields) => {
      const stamp = store.now(); // many records, one timestamp
      const targets = ids ? ids.map((id) => store.contacts.get(id)) : [...store.contacts.values()];
      for (const c of targets) {
        if (!c) throw new SandboxAdminError(404, 'unknown contact id');
        edit(c, fields, stamp);
      }
    },
    configureRateLimit: (p) => Object.assign(ctx.rateLimit, p),
    setJobDelay: (ms) => {
      ctx.jobDelayMs = ms;
    },
    sendEvents,
    sign,
    state,
    advanceClock: (ms) => {
      store.clockOffsetMs += ms;
    },
    setIndexLag: (ms) => {
      store.indexLagMs = Math.max(0, ms);
    },
    flushSearchIndex: () => store.flushIndex(),
    setSearchPicks: (picks) => {
      store.searchPicks = picks;
    },
    close: async () => {
      await webhooks.close();
      await server.close();
    },
  };

  const app = express();
  app.disable('x-powered-by');
  // SendGrid's Date header and its updated_at come from one clock: here the sandbox's, not the process's (taken
  // as the request arrives, so never later than the data the answer holds).
  app.use((_req, res, next) => {
    res.setHeader('Date', new Date(store.clock()).toUTCString());
    next();
  });
  app.use('/__admin', vendorAdmin(sandbox, ctx), createAdminRouter(sandbox));
  app.use(
    faults.middleware({
      tooManyRequests: (_req, res) =>
        tooManyRequests(res, ctx.rateLimit.limit, Math.ceil(Date.now() / 1000) + 1),
      serverError: (_req, res) => sgErrors(res, 500, [{ field: null, message: 'internal server error' }]),
      unavailable: (_req, res) => {
        res.set('Retry-After', '1');
        sgErrors(res, 503, [{ field: null, message: 'service unavailable' }]);
      },
    }),
  );
  app.use(createSendGridApp(ctx));

  const server = await startServer(app, opts.port ?? 0, opts.host ?? '127.0.0.1');
  url = server.url;
  sandbox.url = url;
  sandbox.credentials.baseUrl = url;
  if (opts.count) seed(opts.count, opts.seed ?? 1);
  return sandbox;
}

/**
 * SendGrid-only admin routes, beside the kit's: trigger events, sign payloads, tune limits and job delay, move
 * SendGrid's clock and set the search index's lag.
 */
function vendorAdmin(sb: SendGridSandbox, ctx: SendGridAppContext): express.Router {
  const r = express.Router();
  r.use(express.json({ limit: '10mb' }));
  const guard =
    (fn: (req: express.Request, res: express.Response) => void): express.RequestHandler =>
    (req, res) => {
      try {
        fn(req, res);
      } catch (e) {
        const status = e instanceof SandboxAdminError ? ((e as any).status ?? 400) : 400;
        res.status(status).json({ error: (e as Error).message });
      }
    };
  r.post(
    '/sendgrid/events',
    guard((req, res) => {
      const events = req.body?.events;
      if (!Array.isArray(events) || events.length === 0)
        throw new SandboxAdminError(400, 'events must be a non-empty array');
      res.json(sb.sendEvents(events));
    }),
  );
  r.post(
    '/sendgrid/sign',
    guard((req, res) => {
      if (typeof req.body?.body !== 'string')
        throw new SandboxAdminError(400, 'body must be the raw string to sign');
      res.json({
        headers: sb.sign(
          req.body.body,
          req.body.timestamp === undefined ? undefined : String(req.body.timestamp),
        ),
      });
    }),
  );
  r.put(
    '/sendgrid/rate-limit',
    guard((req, res) => {
      const { limit, windowMs } = req.body ?? {};
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
        throw new SandboxAdminError(400, 'limit must be a positive integer');
      if (windowMs !== undefined && !(Number.isInteger(windowMs) && windowMs > 0))
        throw new SandboxAdminError(400, 'windowMs must be a positive integer');
      sb.configureRateLimit({ ...(limit ? { limit } : {}), ...(windowMs ? { windowMs } : {}) });
      res.json(ctx.rateLimit);
    }),
  );
  r.put(
    '/sendgrid/jobs',
    guard((req, res) => {
      const d = req.body?.delayMs;
      if (!(Number.isInteger(d) && d >= 0))
        throw new SandboxAdminError(400, 'delayMs must be a non-negative integer');
      sb.setJobDelay(d);
      res.json({ delayMs: d });
    }),
  );
  r.post(
    '/sendgrid/clock',
    guard((req, res) => {
      const ms = req.body?.advanceMs;
      if (ms !== undefined && !Number.isFinite(ms))
        throw new SandboxAdminError(400, 'advanceMs must be a number');
      if (ms !== undefined) sb.advanceClock(ms);
      res.json({ now: new Date(sb.store.clock()).toISOString() });
    }),
  );
  r.put(
    '/sendgrid/search-index',
    guard((req, res) => {
      const { lagMs, picks } = req.body ?? {};
      if (lagMs !== undefined && !(typeof lagMs === 'number' && lagMs >= 0))
        throw new SandboxAdminError(400, 'lagMs must be a number >= 0');
      if (picks !== undefined && picks !== 'oldest' && picks !== 'newest')
        throw new SandboxAdminError(400, 'picks must be "oldest" or "newest"');
      if (lagMs !== undefined) sb.setIndexLag(lagMs);
      if (picks !== undefined) sb.setSearchPicks(picks);
      res.json({ lagMs: sb.store.indexLagMs, picks: sb.store.searchPicks, pending: sb.store.indexPending });
    }),
  );
  r.post(
    '/sendgrid/search-index/flush',
    guard((_req, res) => {
      sb.flushSearchIndex();
      res.json({ ok: true });
    }),
  );
  return r;
}
