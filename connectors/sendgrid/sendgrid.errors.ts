// SendGrid failures -> the closed ConnectorError codes. The engine decides retries from these codes alone.
import { ConnectorError, ConnectorErrorCode } from '../../src/connectors';
import { SendGridApiError } from './sendgrid.client';

/** Used when a 429 carries neither X-RateLimit-Reset nor Retry-After. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

export interface SendGridErrorItem {
  field?: string | null;
  message: string;
}

/** SendGrid's `{ errors: [{ field, message }] }` body (some 404s send the bare array). */
export function errorItems(body: unknown): SendGridErrorItem[] {
  const list = Array.isArray(body) ? body : (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(list)) return [];
  return list
    .filter((x): x is Record<string, unknown> => !!x && typeof x === 'object')
    .map((x) => ({
      field: typeof x.field === 'string' ? x.field : null,
      message: String(x.message ?? 'unknown error'),
    }));
}

/**
 * Milliseconds until the budget resets. X-RateLimit-Reset is epoch seconds at SendGrid; Retry-After (seconds)
 * is honoured as a fallback because 503s from the edge carry it.
 */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number {
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  const after = Number(headers['retry-after']);
  if (Number.isFinite(after) && after >= 0) return after * 1000;
  return DEFAULT_RETRY_AFTER_MS;
}

/** Per-record errors of a rejected PUT /contacts: `contacts[3].email` -> index 3. */
export function recordErrors(body: unknown): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of errorItems(body)) {
    const m = /^contacts\[(\d+)\]/.exec(e.field ?? '');
    if (!m) continue;
    const i = Number(m[1]);
    const msg = `${e.field}: ${e.message}`;
    out.set(i, out.has(i) ? `${out.get(i)}; ${msg}` : msg);
  }
  return out;
}

export function translateError(e: unknown, what = 'SendGrid request'): ConnectorError {
  if (e instanceof ConnectorError) return e;
  if (!(e instanceof SendGridApiError)) {
    return new ConnectorError(
      ConnectorErrorCode.Temporary,
      `${what} failed: ${(e as Error)?.message ?? String(e)}`,
      { cause: e },
    );
  }
  const items = errorItems(e.body);
  const detail = items.length
    ? items.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ')
    : e.message;
  const status = e.status;
  if (status === undefined) {
    // No HTTP answer at all: reset, refused, timeout. Worth retrying.
    return new ConnectorError(
      ConnectorErrorCode.Temporary,
      `${what}: network error (${e.networkCode}): ${e.message}`,
      {
        vendorCode: e.networkCode,
        cause: e,
      },
    );
  }
  const base = { status, cause: e, vendorCode: String(status) };
  if (status === 401 || status === 403)
    return new ConnectorError(ConnectorErrorCode.Auth, `${what}: ${detail}`, base);
  if (status === 429) {
    return new ConnectorError(ConnectorErrorCode.RateLimited, `${what}: ${detail}`, {
      ...base,
      retryAfterMs: retryAfterMs(e.headers),
    });
  }
  if (status >= 500 || status === 408)
    return new ConnectorError(ConnectorErrorCode.Temporary, `${what}: ${detail}`, base);
  if (status === 404) return new ConnectorError(ConnectorErrorCode.NotFound, `${what}: ${detail}`, base);
  // 400 naming fields (and 413, the body size limit) means the content is wrong, not the call.
  if ((status === 400 && items.some((i) => i.field)) || status === 413) {
    return new ConnectorError(ConnectorErrorCode.InvalidData, `${what}: ${detail}`, base);
  }
  return new ConnectorError(ConnectorErrorCode.Permanent, `${what}: ${detail}`, base);
}

/** A response that parsed but does not have the shape SendGrid documents (truncated or corrupted body). */
export function malformedResponse(what: string, body: unknown): ConnectorError {
  return new ConnectorError(
    ConnectorErrorCode.Temporary,
    `${what}: unexpected response ${JSON.stringify(body)?.slice(0, 200)}`,
  );
}
