// The only file that imports @hubspot/api-client. It wraps the SDK's contacts APIs in our own plain types, runs
// every call through the shared RateLimiter (acquire before, pause on 429) and translates failures at this edge,
// so the connector never sees SDK classes or raw HTTP errors.
import { Client } from '@hubspot/api-client';
import { dateHeaderMs, type RateBudget, type RateLimiter } from '../../src/connectors';
import { ConnectorErrorCode, isConnectorError } from '../../src/connectors';
import { translateHubSpotError, type HubSpotBatchError } from './hubspot.errors';

export interface HsObject {
  id: string;
  properties: Record<string, string | null>;
  archivedAt?: string;
  /** Upsert only: the record was created by this call. */
  created?: boolean;
}

export interface HsPage {
  results: HsObject[];
  /** `after` for the next page; absent on the last one. */
  next?: string;
  /** Search only: how many records match the whole query. */
  total?: number;
  /** HubSpot's clock when it answered (the `Date` header, whole seconds), if the answer carried one. */
  serverTime?: number;
}

export interface HsBatchResult {
  results: HsObject[];
  errors: HubSpotBatchError[];
}

export interface HsSearch {
  filterGroups: { filters: { propertyName: string; operator: string; value: string }[] }[];
  sorts: string[];
  properties: string[];
  limit: number;
  after?: string;
}

export interface HubSpotClientOptions {
  accessToken: string;
  basePath?: string;
  limiter: RateLimiter;
  /** Limiter key: one budget per private-app token, shared by every worker using it. */
  limiterKey: string;
  budget: RateBudget;
}

export class HubSpotClient {
  private readonly sdk: Client;

  constructor(private readonly options: HubSpotClientOptions) {
    // Retries off: the engine alone decides what is retried and when.
    this.sdk = new Client({
      accessToken: options.accessToken,
      basePath: options.basePath,
      numberOfApiCallRetries: 0,
    });
  }

  async getPage(opts: {
    limit: number;
    after?: string;
    properties: string[];
    archived?: boolean;
    signal?: AbortSignal;
  }): Promise<HsPage> {
    const { data: res, headers } = await this.call(
      () =>
        this.sdk.crm.contacts.basicApi.getPageWithHttpInfo(
          opts.limit,
          opts.after,
          opts.properties,
          undefined,
          undefined,
          opts.archived ?? false,
        ),
      opts.signal,
    );
    return {
      results: res.results.map(toObject),
      next: res.paging?.next?.after,
      serverTime: dateHeaderMs(headers),
    };
  }

  async search(req: HsSearch, signal?: AbortSignal): Promise<HsPage> {
    const { data: res, headers } = await this.call(
      () =>
        this.sdk.crm.contacts.searchApi.doSearchWithHttpInfo({
          filterGroups: req.filterGroups.map((g) => ({
            filters: g.filters.map((f) => ({
              propertyName: f.propertyName,
              // The SDK's enum is a string union; our callers only use the documented operators.
              operator: f.operator as never,
              value: f.value,
            })),
          })),
          sorts: req.sorts,
          properties: req.properties,
          limit: req.limit,
          after: req.after,
        }),
      signal,
    );
    return {
      results: res.results.map(toObject),
      next: res.paging?.next?.after,
      total: res.total,
      serverTime: dateHeaderMs(headers),
    };
  }

  async batchRead(ids: string[], properties: string[]): Promise<HsBatchResult> {
    const res = await this.call(() =>
      this.sdk.crm.contacts.batchApi.read(
        { inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: [] },
        false,
      ),
    );
    return { results: res.results.map(toObject), errors: batchErrors(res) };
  }

  async batchUpsert(
    idProperty: string,
    inputs: { id: string; properties: Record<string, string> }[],
  ): Promise<HsBatchResult> {
    const res = await this.call(() =>
      this.sdk.crm.contacts.batchApi.upsert({
        inputs: inputs.map((i) => ({ idProperty, id: i.id, properties: i.properties })),
      }),
    );
    return {
      results: res.results.map((r) => ({ ...toObject(r), created: r._new })),
      errors: batchErrors(res),
    };
  }

  async batchUpdate(inputs: { id: string; properties: Record<string, string> }[]): Promise<HsBatchResult> {
    const res = await this.call(() => this.sdk.crm.contacts.batchApi.update({ inputs }));
    return { results: res.results.map(toObject), errors: batchErrors(res) };
  }

  async batchArchive(ids: string[]): Promise<void> {
    await this.call(() => this.sdk.crm.contacts.batchApi.archive({ inputs: ids.map((id) => ({ id })) }));
  }

  /**
   * GDPR delete (POST /crm/v3/objects/contacts/gdpr-delete): removes the contact for good, unlike archive which
   * HubSpot keeps restorable for 90 days. In SDK 13.x it is basicApi.purge (the spec files it under "Basic").
   * Throws ConnectorError NotFound (404) when no contact has that id.
   */
  async gdprDelete(id: string): Promise<void> {
    await this.call(() => this.sdk.crm.contacts.basicApi.purge({ objectId: id }));
  }

  /** One vendor request: budget first, translated failure after, and a shared pause when HubSpot says 429. */
  private async call<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { limiter, limiterKey, budget } = this.options;
    await limiter.acquire(limiterKey, budget, signal);
    try {
      return await fn();
    } catch (e) {
      const err = isConnectorError(e) ? e : translateHubSpotError(e);
      if (err.code === ConnectorErrorCode.RateLimited && err.retryAfterMs !== undefined) {
        limiter.pause(limiterKey, Date.now() + err.retryAfterMs);
      }
      throw err;
    }
  }
}

interface SdkObject {
  id: string;
  properties: Record<string, string | null>;
  archivedAt?: Date;
}

function toObject(o: SdkObject): HsObject {
  const out: HsObject = { id: o.id, properties: { ...o.properties } };
  if (o.archivedAt) out.archivedAt = new Date(o.archivedAt).toISOString();
  return out;
}

/** 207 answers carry `errors`; the SDK deserialises both shapes into one object. */
function batchErrors(res: object): HubSpotBatchError[] {
  const errors = (res as { errors?: unknown }).errors;
  return Array.isArray(errors) ? (errors as HubSpotBatchError[]) : [];
}
