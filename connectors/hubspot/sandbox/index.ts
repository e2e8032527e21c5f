// The HubSpot sandbox: a local server that answers @hubspot/api-client (`new Client({ accessToken, basePath })`) as
// HubSpot's CRM v3 API does, sends contact webhooks signed as HubSpot signs them, and exposes the kit's /__admin.
// State is in memory only; nothing here talks to the real HubSpot.
import express, { type Request, type Response } from 'express';
import {
  FaultInjector,
  SandboxAdminError,
  WebhookDispatcher,
  createAdminRouter,
  generatePerson,
  startServer,
  type SandboxOptions,
  type SandboxState,
  type VendorSandbox,
} from '../../../src/sandbox';
import { type ContactRecord, ContactStore, propertyValue } from './contact-store';
import { createHubSpotApi } from './hubspot-api';
import { HUBSPOT_RETRY_DELAYS_MS, HubSpotWebhooks, NOT_RETRIED_STATUSES } from './hubspot-webhooks';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from './rate-limiter';

export { signV1, signV2, signV3, signedWebhookHeaders, postSignedDelivery } from './webhook-signing';
export type { HubSpotWebhookEvent } from './hubspot-webhooks';
export { SubscriptionType, HUBSPOT_RETRY_DELAYS_MS } from './hubspot-webhooks';

export interface HubSpotSandboxOptions extends SandboxOptions {
  /** Per-token request budget; `{ max: 0 }` turns the ten-second limit off (e.g. for benchmarks). */
  rateLimit?: Partial<RateLimitOptions>;
  /** Properties with a contact.propertyChange subscription. */
  webhookProperties?: string[];
  /** Legacy signature sent next to v3 (apps created before v3 verify X-HubSpot-Signature). Default v1. */
  legacySignature?: 'v1' | 'v2' | 'none';
  retryDelaysMs?: number[];
  /** Search requests per second per portal, as HubSpot limits search separately; 0 (default) turns it off. */
  searchPerSecond?: number;
  /** Search indexing lag for every write, in ms (0, the default: search sees a write at once). */
  indexLagMs?: number;
}

export interface HubSpotCredentials extends Record<string, string> {
  accessToken: string;
  basePath: string;
  clientSecret: string;
  appId: string;
  portalId: string;
}

export interface HubSpotSandbox extends VendorSandbox {
  credentials: HubSpotCredentials;
  store: ContactStore;
  rateLimiter: RateLimiter;
  hubspotWebhooks: HubSpotWebhooks;
  /** Accepts another private-app token (each token has its own rate-limit window). */
  addToken(token: string): void;
  state(): SandboxState;
  /** Search requests per second (0 = unlimited); changeable at run time. */
  searchPerSecond: number;
  /** Moves the portal's clock (timestamps of later writes, the answers' Date header); never the process's. */
  advanceClock(ms: number): void;
  /** Search indexing lag for later writes (ms); 0 = search sees a write at once. */
  setIndexLag(ms: number): void;
  /** Indexes every write still waiting for the search index. */
  flushSearchIndex(): void;
}

const DEFAULT_WEBHOOK_PROPERTIES = [
  'email',
  'firstname',
  'lastname',
  'phone',
  'company',
  'jobtitle',
  'city',
  'country',
  'lifecyclestage',
  'hs_lead_status',
  'hs_email_optout',
];
/** Seeded timestamps end here, so a seed reproduces the same createdate/lastmodifieddate values on every run. */
const SEED_EPOCH = Date.UTC(2025, 0, 1);
const STATE_RECORD_CAP = 10_000;

export async function startSandbox(opts: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  const portalId = 62515;
  const appId = 1160452;
  const accessToken = 'pat-na1-sandbox-0000-4000-8000-000000000001';
  const clientSecret = 'sandbox-client-secret-7c1f2b9e';
  const tokens = new Set([accessToken]);

  const store = new ContactStore();
  store.indexLagMs = opts.indexLagMs ?? 0;
  const rateLimiter = new RateLimiter({ ...DEFAULT_RATE_LIMIT, ...opts.rateLimit });
  const faults = new FaultInjector();
  const webhooks = new WebhookDispatcher({
    vendor: 'hubspot',
    retryDelaysMs: opts.retryDelaysMs ?? HUBSPOT_RETRY_DELAYS_MS,
    // Statuses HubSpot does not retry end the schedule, as an acknowledgement would.
    isAck: (status) => (status >= 200 && status < 300) || NOT_RETRIED_STATUSES.includes(status),
  });
  if (opts.webhookUrl) webhooks.configure({ url: opts.webhookUrl });
  const hubspotWebhooks = new HubSpotWebhooks(webhooks, {
    portalId,
    appId,
    clientSecret,
    propertyNames: opts.webhookProperties ?? DEFAULT_WEBHOOK_PROPERTIES,
    legacySignature: opts.legacySignature ?? 'v1',
  });
  store.onChange((c) => hubspotWebhooks.record(c));

  // Seeding replaces the portal's contacts, so a (count, seed) pair always yields the same ids and timestamps.
  const seed = (count: number, seedValue = opts.seed ?? 1): void => {
    store.resetAll();
    store.seed(count, (i) => generatePerson(i, seedValue), SEED_EPOCH);
  };

  const requireRecord = (id: string): ContactRecord => {
    const r = store.get(id);
    if (!r) throw new SandboxAdminError(404, `no live contact with id ${id}`);
    return r;
  };
  const toFields = (fields: Record<string, unknown>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]),
    );

  const sandbox = {
    vendor: 'hubspot',
    url: '',
    faults,
    webhooks,
    store,
    rateLimiter,
    hubspotWebhooks,
    credentials: {} as HubSpotCredentials,
    searchPerSecond: opts.searchPerSecond ?? 0,
    seed,
    reset(): void {
      store.resetAll();
      store.clockOffsetMs = 0;
      store.indexLagMs = 0;
      rateLimiter.reset();
      faults.reset();
      hubspotWebhooks.reset();
      void webhooks.reset();
    },
    /** As a HubSpot user editing the record in the CRM UI; `archived: true` deletes it. */
    mutate(id: string, fields: Record<string, unknown>): unknown {
      const record = requireRecord(id);
      const { archived, ...rest } = fields;
      if (Object.keys(rest).length > 0) store.update(record, toFields(rest), 'CRM_UI');
      if (archived === true) store.archive(record, 'CRM_UI');
      return adminView(record);
    },
    /** A bulk edit: every touched record gets the same lastmodifieddate. */
    massUpdate(ids: string[] | undefined, fields: Record<string, unknown>): unknown {
      const targets = ids ? ids.map(requireRecord) : store.all().filter((r) => !r.archivedAt);
      const at = store.stamp();
      const values = toFields(fields);
      for (const r of targets) store.update(r, values, 'CRM_UI', at);
      return { count: targets.length, lastmodifieddate: new Date(at).toISOString() };
    },
    state(): SandboxState {
      const all = store.all();
      const live = all.filter((r) => !r.archivedAt).length;
      return {
        summary: {
          contacts: live,
          archived: all.length - live,
          truncated: all.length > STATE_RECORD_CAP,
          rateLimit: rateLimiter.options,
        },
        records: all.slice(0, STATE_RECORD_CAP).map(adminView),
      };
    },
    addToken(token: string): void {
      tokens.add(token);
    },
    advanceClock(ms: number): void {
      store.clockOffsetMs += ms;
    },
    setIndexLag(ms: number): void {
      store.indexLagMs = Math.max(0, ms);
    },
    flushSearchIndex(): void {
      store.flushIndex();
    },
    close: async (): Promise<void> => {
      await webhooks.close();
      await server.close();
    },
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // HubSpot's Date header and its lastmodifieddate come from one clock: here the portal's, not the process's
  // (taken as the request arrives, so never later than the data the answer holds).
  app.use((_req: Request, res: Response, next) => {
    res.setHeader('Date', new Date(store.now()).toUTCString());
    next();
  });
  app.use('/__admin', vendorAdminRouter());
  app.use('/__admin', createAdminRouter(sandbox));
  app.use(
    createHubSpotApi({
      store,
      limiter: rateLimiter,
      faults,
      tokens,
      appId,
      searchPerSecond: () => sandbox.searchPerSecond,
    }),
  );

  /** HubSpot-only admin routes: the portal's clock and the search index's lag. */
  function vendorAdminRouter(): express.Router {
    const r = express.Router();
    r.use(express.json());
    r.post('/clock', (req: Request, res: Response) => {
      const b = (req.body ?? {}) as { advanceMs?: unknown };
      if (typeof b.advanceMs === 'number') sandbox.advanceClock(b.advanceMs);
      res.json({ now: new Date(store.now()).toISOString() });
    });
    r.put('/search-index', (req: Request, res: Response) => {
      const b = (req.body ?? {}) as { lagMs?: unknown };
      if (typeof b.lagMs !== 'number' || !(b.lagMs >= 0))
        return void res.status(400).json({ error: 'lagMs must be a number >= 0' });
      sandbox.setIndexLag(b.lagMs);
      res.json({ lagMs: store.indexLagMs, pending: store.indexPending });
    });
    r.post('/search-index/flush', (_req: Request, res: Response) => {
      sandbox.flushSearchIndex();
      res.json({ ok: true });
    });
    return r;
  }

  const server = await startServer(app, opts.port ?? 0, opts.host ?? '127.0.0.1');
  sandbox.url = server.url;
  sandbox.credentials = {
    accessToken,
    basePath: server.url,
    clientSecret,
    appId: String(appId),
    portalId: String(portalId),
  };
  if (opts.count) seed(opts.count, opts.seed ?? 1);
  return sandbox;
}

function adminView(r: ContactRecord): Record<string, unknown> {
  return {
    id: String(r.id),
    properties: {
      ...r.props,
      createdate: propertyValue(r, 'createdate'),
      lastmodifieddate: propertyValue(r, 'lastmodifieddate'),
      hs_object_id: String(r.id),
    },
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    archived: Boolean(r.archivedAt),
  };
}
