/**
 * Salesforce sandbox entry: wires the store, OAuth, REST API, the SOAP emptyRecycleBin call, fault injection and
 * Outbound Messages into one express app on loopback, reached by jsforce unchanged. /__admin (kit router plus a few Salesforce extras:
 * clock, deletes, session expiry, API budget) is mounted apart from the API and never behind the faults.
 */
import express, { type Request, type Response } from 'express';
import { createAdminRouter, SandboxAdminError } from '../../../src/sandbox/admin';
import { FaultInjector, type FaultResponder } from '../../../src/sandbox/faults';
import { startServer } from '../../../src/sandbox/server';
import type { SandboxOptions, SandboxState, VendorSandbox } from '../../../src/sandbox/sandbox.types';
import { WebhookDispatcher } from '../../../src/sandbox/webhooks';
import { OUTBOUND_RETRY_DELAYS_MS, OutboundMessenger, isOutboundAck } from './outbound-messages';
import { SalesforceApi } from './salesforce-api';
import { SalesforceAuth } from './salesforce-auth';
import { SalesforceSoap } from './salesforce-soap';
import { SandboxClock, formatSfDateTime } from './salesforce-clock';
import { KeyPrefix, makeId } from './salesforce-ids';
import { SalesforceStore } from './salesforce-store';
import { seedStore } from './salesforce-seed';
import { Row, SCHEMAS, SLOT_IS_DELETED, SOBJECT_NAMES, SObjectName } from './salesforce-schema';

export const API_VERSION = '62.0';
const DEFAULT_DAILY_API_LIMIT = 100_000;
const STATE_RECORD_CAP = 10_000;

export interface SalesforceSandboxOptions extends SandboxOptions {
  /** Daily API request budget (Sforce-Limit-Info denominator). */
  dailyApiLimit?: number;
  leadCount?: number;
}

export interface SalesforceCredentials extends Record<string, string> {
  instanceUrl: string;
  accessToken: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  organizationId: string;
}

export interface SalesforceSandbox extends VendorSandbox {
  credentials: SalesforceCredentials;
  clock: SandboxClock;
  store: SalesforceStore;
  api: SalesforceApi;
  outbound: OutboundMessenger;
  /** Deletes a record as a user would (recycle bin). */
  deleteRecord(id: string): void;
  /** Ends all access tokens; jsforce with a refresh token then refreshes on its own. */
  expireSessions(): void;
  setDailyApiLimit(limit: number, used?: number): void;
  state(): SandboxState;
}

/** Salesforce's own answers to the kit's faults: limits are 403 REQUEST_LIMIT_EXCEEDED, not 429. */
const salesforceFaults: FaultResponder = {
  tooManyRequests: (_req, res) => {
    res
      .status(403)
      .json([{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  },
  serverError: (_req, res) => {
    res.status(500).json([
      {
        message:
          'An unexpected error occurred. Please include this ErrorId if you contact support: 1930428367-12873 (-1081914234)',
        errorCode: 'UNKNOWN_EXCEPTION',
      },
    ]);
  },
  unavailable: (_req, res) => {
    res.status(503).json([{ message: 'Server temporarily unavailable.', errorCode: 'SERVER_UNAVAILABLE' }]);
  },
};

export async function startSandbox(opts: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const seedValue = opts.seed ?? 1;
  const organizationId = makeId(KeyPrefix.Organization, seedValue);
  const identity = {
    organizationId,
    userId: makeId(KeyPrefix.User, 1),
    clientId: `3MVG9sandbox.${organizationId}`,
    clientSecret: `SANDBOX-SECRET-${seedValue}`,
    refreshToken: `5Aep861sandbox.${organizationId}`,
  };
  const clock = new SandboxClock();
  const store = new SalesforceStore(clock);
  const auth = new SalesforceAuth(identity, `${organizationId.slice(0, 15)}!AQsandbox.initial.${seedValue}`);
  const api = new SalesforceApi(store, auth, opts.dailyApiLimit ?? DEFAULT_DAILY_API_LIMIT);
  const soap = new SalesforceSoap(store, auth, api);
  const faults = new FaultInjector();
  const webhooks = new WebhookDispatcher({
    vendor: 'salesforce',
    retryDelaysMs: OUTBOUND_RETRY_DELAYS_MS,
    isAck: isOutboundAck,
  });
  if (opts.webhookUrl) webhooks.configure({ url: opts.webhookUrl });
  let instanceUrl = '';
  const outbound = new OutboundMessenger(webhooks, () => ({
    organizationId,
    instanceUrl,
    version: API_VERSION,
  }));
  store.onChange = (e) => {
    if (e.kind !== 'deleted') outbound.enqueue(e.object, e.row);
  };

  const seed = (count: number, seedNo = seedValue): void => {
    store.clear();
    api.reset();
    seedStore(store, { count, seed: seedNo, leadCount: opts.leadCount });
  };

  const requireRecord = (id: string): { object: SObjectName; row: Row } => {
    const hit = store.locate(id);
    if (!hit) throw new SandboxAdminError(404, `unknown record id ${id}`);
    return hit;
  };

  const editAs = (object: SObjectName, row: Row, fields: Record<string, unknown>, at: number): void => {
    const result = store.update(object, row, fields, at);
    if (!result.ok)
      throw new SandboxAdminError(400, result.errors.map((e) => `${e.statusCode}: ${e.message}`).join('; '));
  };

  const render = (object: SObjectName, row: Row): Record<string, unknown> => {
    const out: Record<string, unknown> = { attributes: { type: object } };
    for (const f of SCHEMAS[object].fields) {
      if (f.slot < 0) continue;
      const v = row[f.slot];
      out[f.name] = f.type === 'datetime' && typeof v === 'number' ? formatSfDateTime(v) : v;
    }
    return out;
  };

  const app = express();
  app.disable('x-powered-by');
  // Salesforce's Date header and its SystemModstamps come from one clock: here the sandbox's, not the process's
  // (taken as the request arrives, so never later than the data the answer holds).
  app.use((_req: Request, res: Response, next) => {
    res.setHeader('Date', new Date(clock.now()).toUTCString());
    next();
  });
  app.use('/__admin', vendorAdminRouter());
  const sandbox = {} as SalesforceSandbox;
  app.use('/__admin', createAdminRouter(sandbox));
  app.use(
    '/services/oauth2',
    auth.router(
      () => instanceUrl,
      () => clock.now(),
    ),
  );
  app.use('/services/data', faults.middleware(salesforceFaults), api.router());
  app.use(
    '/services/Soap',
    faults.middleware(SalesforceSoap.faultResponder()),
    soap.router(),
    SalesforceSoap.errorHandler(),
  );
  app.use(SalesforceApi.errorHandler());

  function vendorAdminRouter(): express.Router {
    const r = express.Router();
    r.use(express.json());
    r.post('/clock', (req: Request, res: Response) => {
      const b = (req.body ?? {}) as { advanceMs?: number; set?: string | number };
      if (typeof b.advanceMs === 'number') clock.advance(b.advanceMs);
      if (b.set !== undefined) clock.set(typeof b.set === 'number' ? b.set : Date.parse(b.set));
      res.json({ now: formatSfDateTime(clock.now()) });
    });
    r.post('/records/:id/delete', (req: Request, res: Response) => {
      sandbox.deleteRecord(String(req.params.id));
      res.json({ ok: true });
    });
    r.post('/sessions/expire', (_req: Request, res: Response) => {
      auth.expireAll();
      res.json({ ok: true });
    });
    r.put('/api-limit', (req: Request, res: Response) => {
      const b = (req.body ?? {}) as { limit?: number; used?: number };
      sandbox.setDailyApiLimit(b.limit ?? api.limits.dailyApiLimit, b.used);
      res.json({ limit: api.limits.dailyApiLimit, used: api.limits.used });
    });
    return r;
  }

  const server = await startServer(app, opts.port ?? 0, opts.host ?? '127.0.0.1');
  instanceUrl = server.url;

  Object.assign(sandbox, {
    vendor: 'salesforce',
    url: server.url,
    faults,
    webhooks,
    clock,
    store,
    api,
    outbound,
    credentials: { instanceUrl, accessToken: auth.initialAccessToken, ...identity },
    seed,
    reset(): void {
      store.clear();
      api.reset();
      auth.reset();
      faults.reset();
      outbound.reset();
      void webhooks.reset();
      clock.reset();
    },
    mutate(id: string, fields: Record<string, unknown>): Record<string, unknown> {
      const { object, row } = requireRecord(id);
      if (row[SLOT_IS_DELETED] === true) throw new SandboxAdminError(404, `record ${id} is deleted`);
      editAs(object, row, fields, clock.now());
      return render(object, row);
    },
    massUpdate(
      ids: string[] | undefined,
      fields: Record<string, unknown>,
    ): { updated: number; systemModstamp: string } {
      // One timestamp for all, like a Data Loader or mass-edit job, and one transaction: all or nothing.
      const at = clock.now();
      const targets: Array<{ object: SObjectName; row: Row }> = ids
        ? ids.map(requireRecord)
        : SOBJECT_NAMES.filter((o) =>
            Object.keys(fields).every((k) => SCHEMAS[o].byLowerName.has(k.toLowerCase())),
          ).flatMap((object) =>
            [...store.table(object).byId.values()]
              .filter((row) => row[SLOT_IS_DELETED] === false)
              .map((row) => ({ object, row })),
          );
      store.transaction((tx) => {
        try {
          for (const t of targets) editAs(t.object, t.row, fields, at);
        } catch (err) {
          tx.rollback();
          throw err;
        }
      });
      return { updated: targets.length, systemModstamp: formatSfDateTime(Math.floor(at / 1000) * 1000) };
    },
    deleteRecord(id: string): void {
      const { object, row } = requireRecord(id);
      if (row[SLOT_IS_DELETED] === true) throw new SandboxAdminError(404, `record ${id} is already deleted`);
      store.softDelete(object, row, clock.now());
    },
    expireSessions(): void {
      auth.expireAll();
    },
    setDailyApiLimit(limit: number, used?: number): void {
      api.limits.dailyApiLimit = limit;
      if (used !== undefined) api.limits.used = used;
    },
    state(): SandboxState {
      const records: unknown[] = [];
      const summary: Record<string, unknown> = {
        organizationId,
        now: formatSfDateTime(clock.now()),
        apiUsage: `${api.limits.used}/${api.limits.dailyApiLimit}`,
      };
      for (const object of SOBJECT_NAMES) {
        const table = store.table(object);
        summary[object] = { total: table.byId.size, deleted: table.deletedAt.size };
        for (const row of table.sorted()) {
          if (records.length >= STATE_RECORD_CAP) break;
          records.push(render(object, row));
        }
      }
      summary.recordsTruncated = records.length >= STATE_RECORD_CAP;
      return { summary, records };
    },
    async close(): Promise<void> {
      await webhooks.close();
      await server.close();
    },
  } satisfies Omit<SalesforceSandbox, never>);

  if (opts.count) seed(opts.count, seedValue);
  return sandbox;
}
