// The only file that imports @sendgrid/client. It wraps one SDK Client per connection and answers in our own
// types (SendGridResponse / SendGridApiError) so nothing else in the connector sees the SDK or axios.
import { Client } from '@sendgrid/client';

export interface SendGridResponse<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string>;
}

/** A failed SendGrid call: an HTTP answer (status set) or a transport failure (networkCode set). */
export class SendGridApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: unknown,
    readonly headers: Record<string, string>,
    readonly networkCode?: string,
  ) {
    super(message);
    this.name = 'SendGridApiError';
  }
}

export interface SendGridRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  qs?: Record<string, string | number | boolean>;
  body?: unknown;
}

export interface SendGridClientOptions {
  apiKey: string;
  baseUrl?: string;
  /** Per-request timeout; axios has none by default and a hung socket would stall a sync forever. */
  timeoutMs?: number;
}

export class SendGridClient {
  private readonly sdk: Client;

  constructor(opts: SendGridClientOptions) {
    // A dedicated instance: the SDK's default export is a process-wide singleton whose key and base URL
    // would leak between connections.
    this.sdk = new Client();
    this.sdk.setApiKey(opts.apiKey);
    // setApiKey() resets baseUrl to api.sendgrid.com, so the override must come after it.
    if (opts.baseUrl) this.sdk.setDefaultRequest('baseUrl', opts.baseUrl.replace(/\/+$/, '') + '/');
    this.sdk.setDefaultRequest('timeout' as never, (opts.timeoutMs ?? 30_000) as never);
  }

  async request<T = unknown>(req: SendGridRequest): Promise<SendGridResponse<T>> {
    try {
      const [res, body] = await this.sdk.request({
        method: req.method,
        url: req.url,
        ...(req.qs ? { qs: req.qs } : {}),
        ...(req.body !== undefined ? { body: req.body as object } : {}),
      });
      return { status: res.statusCode, body: body as T, headers: flatHeaders(res.headers) };
    } catch (e) {
      throw toApiError(e);
    }
  }

  /**
   * Downloads an import job's errors_url. In production it is a pre-signed S3 link, which refuses requests that
   * also carry SendGrid's Authorization header, so it is fetched without the SDK.
   */
  async download(url: string, timeoutMs = 30_000): Promise<string> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new SendGridApiError(
        `errors_url download failed: ${(e as Error).message}`,
        undefined,
        undefined,
        {},
        'EDOWNLOAD',
      );
    }
    const text = await res.text();
    if (!res.ok) throw new SendGridApiError(`errors_url answered ${res.status}`, res.status, text, {});
    return text;
  }
}

function flatHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h || typeof h !== 'object') return out;
  const entries =
    typeof (h as { toJSON?: unknown }).toJSON === 'function'
      ? Object.entries((h as { toJSON(): Record<string, unknown> }).toJSON())
      : Object.entries(h as Record<string, unknown>);
  for (const [k, v] of entries)
    if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function toApiError(e: unknown): SendGridApiError {
  const err = e as { code?: unknown; message?: string; response?: { headers?: unknown; body?: unknown } };
  // The SDK's ResponseError carries the HTTP status in `code` and the parsed body in response.body.
  if (typeof err?.code === 'number' && err.response) {
    return new SendGridApiError(
      err.message ?? `HTTP ${err.code}`,
      err.code,
      err.response.body,
      flatHeaders(err.response.headers),
    );
  }
  // Transport failures come through as axios errors with a string code (ECONNRESET, ECONNABORTED, …).
  const code = typeof err?.code === 'string' ? err.code : 'ENETWORK';
  return new SendGridApiError(err?.message ?? String(e), undefined, undefined, {}, code);
}
