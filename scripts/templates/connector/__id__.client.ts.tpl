// The only file that talks to the __Name__ API (the one place a vendor SDK would be imported; this generated one
// is a plain fetch client for the REST API its sandbox emulates). It keeps the rate budget before each request,
// pauses it on a 429, and turns every failure into a ConnectorError. It never retries: the engine decides.
import type { RateBudget, RateLimiter } from '../../src/connectors';
import { __Class__HttpError, retryAfterMs, translate__Class__Error } from './__id__.errors';

/** A contact as the __Name__ API returns it. */
export interface __Class__Contact {
  id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  company: string | null;
  job_title: string | null;
  city: string | null;
  country: string | null;
  lifecycle_stage: string | null;
  email_opt_out: boolean | null;
  created_at: string;
  updated_at: string;
}

/** A deletion in an incremental listing. */
export interface __Class__Tombstone {
  id: string;
  deleted: true;
  updated_at: string;
}

export interface __Class__ListPage {
  results: (__Class__Contact | __Class__Tombstone)[];
  has_more: boolean;
}

export interface __Class__UpsertResult {
  index: number;
  status: 'created' | 'updated' | 'unchanged' | 'error';
  id?: string;
  error?: { code: string; message: string };
}

export interface __Class__DeleteResult {
  id: string;
  status: 'deleted' | 'not_found';
}

export interface __Class__ClientOptions {
  baseUrl: string;
  apiKey: string;
  limiter: RateLimiter;
  limiterKey: string;
  budget: RateBudget;
  timeoutMs?: number;
}

export class __Class__Client {
  constructor(private readonly options: __Class__ClientOptions) {}

  /** Cheapest authenticated call: proves the key and the base URL. */
  me(signal?: AbortSignal): Promise<{ account: string }> {
    return this.request('GET', '/v1/me', undefined, signal);
  }

  /** Keyset page in (updated_at, id) order, strictly after (afterTs, afterId). */
  list(
    q: { limit: number; afterTs: string; afterId: string; includeDeleted: boolean },
    signal?: AbortSignal,
  ): Promise<__Class__ListPage> {
    const params = new URLSearchParams({
      limit: String(q.limit),
      after_ts: q.afterTs,
      after_id: q.afterId,
      include_deleted: String(q.includeDeleted),
    });
    return this.request('GET', `/v1/contacts?${params.toString()}`, undefined, signal);
  }

  batchRead(ids: string[]): Promise<{ results: __Class__Contact[] }> {
    return this.request('POST', '/v1/contacts/batch/read', { ids });
  }

  /** Upsert by id when given, else by email. Per-record errors come back in `results`, not as a failed request. */
  batchUpsert(inputs: Record<string, unknown>[]): Promise<{ results: __Class__UpsertResult[] }> {
    return this.request('POST', '/v1/contacts/batch/upsert', { inputs });
  }

  batchDelete(ids: string[]): Promise<{ results: __Class__DeleteResult[] }> {
    return this.request('POST', '/v1/contacts/batch/delete', { ids });
  }

  private async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const { limiter, limiterKey, budget } = this.options;
    await limiter.acquire(limiterKey, budget, signal);
    try {
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
      const res = await fetch(new URL(path, this.options.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const text = await res.text();
      if (!res.ok) {
        const headers = Object.fromEntries(res.headers.entries());
        // Everyone sharing this key holds off, not just this caller.
        if (res.status === 429) limiter.pause(limiterKey, Date.now() + retryAfterMs(headers['retry-after']));
        throw new __Class__HttpError(res.status, parseLoosely(text), headers);
      }
      return JSON.parse(text) as T;
    } catch (e) {
      throw translate__Class__Error(e);
    }
  }
}

/** Error bodies are informative only; one that is not JSON is kept as text. */
function parseLoosely(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
