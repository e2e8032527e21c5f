// The only file that imports jsforce. It wraps the SDK in our own types, pins the API version, turns off the
// SDK's own retries and session refresh (the engine owns retries; we refresh exactly once, explicitly), and
// translates every failure into a ConnectorError.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Connection, OAuth2 } from 'jsforce';
import Transport from 'jsforce/lib/transport';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce/lib/types';
import { ConnectorError, ConnectorErrorCode, dateHeaderMs } from '../../src/connectors';
import { type SalesforceHttpInfo, translateSalesforceError, unexpectedResponse } from './salesforce.errors';

export const SALESFORCE_API_VERSION = '62.0';
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
/** sObject Collections accept at most 200 records per call. */
export const MAX_COLLECTION_SIZE = 200;
const DEFAULT_TIMEOUT_MS = 60_000;

export type SfRecord = Record<string, unknown>;

export interface SfRecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SfSaveResult {
  id?: string;
  success: boolean;
  /** Only on upserts. */
  created?: boolean;
  errors: SfRecordError[];
}

export interface SfQueryPage {
  records: SfRecord[];
  /** Epoch ms of the answer by Salesforce's clock (its Date header), if it sent one. */
  serverTime?: number;
}

export interface SfDeletedRecord {
  id: string;
  deletedDate: string;
}

export interface SalesforceClientOptions {
  credentials: Record<string, string>;
  /** Token endpoint host (connection baseUrl); default login.salesforce.com. */
  loginUrl?: string;
  timeoutMs?: number;
  /** Called before every vendor request (the rate limiter). */
  beforeRequest?: () => Promise<void>;
  /** Called when Salesforce says to slow down. */
  onRateLimited?: (retryAfterMs: number) => void;
}

/** Per-call record of the last HTTP answer, so translation sees the status and Sforce-Limit-Info. */
const exchange = new AsyncLocalStorage<SalesforceHttpInfo>();

/** jsforce's default transport retries 5xx/429/resets up to five times; ours makes exactly one attempt. */
class SingleAttemptTransport extends Transport {
  constructor(private readonly timeoutMs: number) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}) {
    const promise = super.httpRequest(req, { ...options, retry: { maxRetries: 0 }, timeout: this.timeoutMs });
    const info = exchange.getStore();
    if (info) {
      promise.then(
        (res: HttpResponse) => {
          info.status = res.statusCode;
          info.headers = res.headers;
        },
        () => undefined,
      );
    }
    return promise;
  }
}

function nonEmpty(v: string | undefined): v is string {
  return typeof v === 'string' && v.length > 0;
}

export class SalesforceClient {
  private readonly conn: Connection;
  private readonly oauth?: OAuth2;
  private readonly creds: Record<string, string>;
  private authenticated: Promise<void> | undefined;

  constructor(private readonly options: SalesforceClientOptions) {
    this.creds = options.credentials;
    const transport = new SingleAttemptTransport(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // No oauth2/refreshToken on the Connection: jsforce would then refresh (and re-refresh) on every 401 itself.
    this.conn = new Connection({
      instanceUrl: this.creds.instanceUrl,
      accessToken: this.creds.accessToken,
      version: SALESFORCE_API_VERSION,
    });
    this.conn._transport = transport;
    if (nonEmpty(this.creds.clientId)) {
      const loginUrl = (this.creds.loginUrl || options.loginUrl || DEFAULT_LOGIN_URL).replace(/\/+$/, '');
      this.oauth = new OAuth2({
        loginUrl,
        clientId: this.creds.clientId,
        clientSecret: this.creds.clientSecret,
      });
      this.oauth._transport = transport;
    }
    if (nonEmpty(this.creds.accessToken) && nonEmpty(this.creds.instanceUrl))
      this.authenticated = Promise.resolve();
  }

  /** A new token is possible: refresh-token flow, or client credentials. */
  get canRefresh(): boolean {
    return (
      this.oauth !== undefined && (nonEmpty(this.creds.refreshToken) || nonEmpty(this.creds.clientSecret))
    );
  }

  get accessToken(): string | undefined {
    return this.conn.accessToken ?? undefined;
  }

  // ---- operations ---------------------------------------------------------------------------------

  /** One SOQL request; callers keep the result within one response (LIMIT <= 2,000). */
  async query(soql: string, includeDeleted = false): Promise<SfRecord[]> {
    return (await this.queryPage(soql, includeDeleted)).records;
  }

  /**
   * One SOQL request, with Salesforce's clock when it answered: its Date header (whole seconds, rounded down),
   * or undefined when the answer had none.
   */
  async queryPage(soql: string, includeDeleted = false): Promise<SfQueryPage> {
    let serverTime: number | undefined;
    const result = await this.call(
      async () => {
        const q = this.conn.query(soql, { autoFetch: false, scanAll: includeDeleted });
        return (await q) as unknown;
      },
      (http) => {
        serverTime = dateHeaderMs(http.headers);
      },
    );
    const records = (result as { records?: unknown } | null)?.records;
    if (!Array.isArray(records)) throw unexpectedResponse('query');
    return { records: records as SfRecord[], serverTime };
  }

  /** Collections upsert by an external id field; at most 200 records, allOrNone false. */
  async upsert(object: string, externalIdField: string, records: SfRecord[]): Promise<SfSaveResult[]> {
    this.assertCollectionSize(records.length);
    // Never allowRecursive: the caller chunks, so each chunk is one request through the rate limiter.
    const result = await this.call(
      () => this.conn.upsert(object, records, externalIdField, { allOrNone: false }) as Promise<unknown>,
    );
    return this.saveResults(result, records.length, 'upsert');
  }

  /** Collections update by Id; at most 200 records, allOrNone false. */
  async update(object: string, records: SfRecord[]): Promise<SfSaveResult[]> {
    this.assertCollectionSize(records.length);
    const typed = records.map((r) => ({ ...r, attributes: { type: object } })) as unknown as Array<
      SfRecord & { Id: string }
    >;
    const result = await this.call(
      () => this.conn.update(object, typed, { allOrNone: false }) as Promise<unknown>,
    );
    return this.saveResults(result, records.length, 'update');
  }

  /** Collections delete; at most 200 ids, allOrNone false. */
  async destroy(object: string, ids: string[]): Promise<SfSaveResult[]> {
    this.assertCollectionSize(ids.length);
    const result = await this.call(
      () => this.conn.destroy(object, ids, { allOrNone: false }) as Promise<unknown>,
    );
    return this.saveResults(result, ids.length, 'delete');
  }

  /**
   * SOAP emptyRecycleBin: deletes records from the recycle bin at once (hard delete, no undelete). At most 200 ids,
   * each of which must already be deleted; the REST API has no equivalent call, jsforce goes through the Partner
   * SOAP endpoint with the same session.
   */
  async emptyRecycleBin(ids: string[]): Promise<SfSaveResult[]> {
    this.assertCollectionSize(ids.length);
    const result = await this.call(() => this.conn.soap.emptyRecycleBin(ids) as Promise<unknown>);
    return this.saveResults(result, ids.length, 'emptyRecycleBin');
  }

  /** getDeleted: ids deleted in [start, end) (Salesforce keeps 15 days). */
  async deleted(object: string, start: Date, end: Date): Promise<SfDeletedRecord[]> {
    const result = (await this.call(
      () => this.conn.sobject(object).deleted(start, end) as Promise<unknown>,
    )) as {
      deletedRecords?: unknown;
    } | null;
    if (!Array.isArray(result?.deletedRecords)) throw unexpectedResponse('deleted');
    return result.deletedRecords as SfDeletedRecord[];
  }

  /** Cheapest authenticated call; proves the token and the instance. */
  async limits(): Promise<Record<string, unknown>> {
    const result = await this.call(() => this.conn.limits() as Promise<unknown>);
    if (typeof result !== 'object' || result === null) throw unexpectedResponse('limits');
    return result as Record<string, unknown>;
  }

  // ---- plumbing -----------------------------------------------------------------------------------

  private assertCollectionSize(n: number): void {
    if (n > MAX_COLLECTION_SIZE) {
      throw new ConnectorError(
        ConnectorErrorCode.Permanent,
        `at most ${MAX_COLLECTION_SIZE} records per collection call (got ${n})`,
      );
    }
  }

  private saveResults(result: unknown, expected: number, what: string): SfSaveResult[] {
    if (!Array.isArray(result) || result.length !== expected) throw unexpectedResponse(what);
    return (
      result as Array<
        Omit<Partial<SfSaveResult>, 'errors'> & {
          errors?: Array<Partial<SfRecordError> & { errorCode?: string }>;
        }
      >
    ).map((r) => ({
      id: r.id,
      success: r.success === true,
      created: r.created,
      // jsforce passes collection errors through as Salesforce sends them ({statusCode, message, fields})
      errors: (r.errors ?? []).map((e) => ({
        statusCode: e.statusCode ?? e.errorCode ?? 'UNKNOWN_ERROR',
        message: e.message ?? '',
        fields: e.fields ?? [],
      })),
    }));
  }

  /**
   * Runs one vendor operation: rate limiter first, then the request. On INVALID_SESSION_ID it gets a new
   * token once (refresh token or client credentials) and repeats the operation once; a second rejection is auth.
   */
  private async call<T>(op: () => Promise<T>, answered?: (http: SalesforceHttpInfo) => void): Promise<T> {
    await this.ensureAuthenticated();
    try {
      return await this.attempt(op, answered);
    } catch (err) {
      if (
        !(err instanceof ConnectorError) ||
        err.details.vendorCode !== 'INVALID_SESSION_ID' ||
        !this.canRefresh
      )
        throw err;
      await this.authenticate();
      return this.attempt(op, answered);
    }
  }

  /** `answered` sees the status and headers of a successful answer. */
  private async attempt<T>(op: () => Promise<T>, answered?: (http: SalesforceHttpInfo) => void): Promise<T> {
    await this.options.beforeRequest?.();
    const info: SalesforceHttpInfo = {};
    try {
      const result = await exchange.run(info, op);
      answered?.(info);
      return result;
    } catch (err) {
      const translated = translateSalesforceError(err, info);
      if (translated.code === ConnectorErrorCode.RateLimited && translated.retryAfterMs !== undefined) {
        this.options.onRateLimited?.(translated.retryAfterMs);
      }
      throw translated;
    }
  }

  private ensureAuthenticated(): Promise<void> {
    if (!this.authenticated) {
      this.authenticated = this.authenticate().catch((err: unknown) => {
        this.authenticated = undefined; // let the next call try again
        throw err;
      });
    }
    return this.authenticated;
  }

  /** Token request: refresh-token grant when we have one, else client credentials. */
  private async authenticate(): Promise<void> {
    const oauth = this.oauth;
    if (!oauth || !this.canRefresh) {
      throw new ConnectorError(
        ConnectorErrorCode.Auth,
        'Salesforce credentials need instanceUrl + accessToken, or clientId with clientSecret/refreshToken',
      );
    }
    const token = await this.attempt(() =>
      nonEmpty(this.creds.refreshToken)
        ? oauth.refreshToken(this.creds.refreshToken)
        : oauth.requestToken({ grant_type: 'client_credentials' }),
    );
    if (!nonEmpty(token?.access_token)) throw unexpectedResponse('token');
    this.conn.accessToken = token.access_token;
    this.conn.instanceUrl = token.instance_url || this.conn.instanceUrl || this.creds.instanceUrl;
    this.authenticated = Promise.resolve();
  }
}
