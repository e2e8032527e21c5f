// HubSpot failures -> the closed ConnectorError codes. Whole-request errors arrive as the SDK's ApiException
// ({ code: HTTP status, body, headers }) or as a network error; per-record errors arrive inside 207 batch answers.
import { ConnectorError, ConnectorErrorCode } from '../../src/connectors';

/** One entry of a 207 answer's `errors` (HubSpot's StandardError). */
export interface HubSpotBatchError {
  status?: string;
  category?: string;
  subCategory?: unknown;
  message?: string;
  context?: Record<string, string[] | undefined>;
  errors?: { message?: string; code?: string }[];
}

interface ApiExceptionLike {
  code: number;
  body?: unknown;
  headers?: Record<string, string | undefined>;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** Used when a 429 names no wait at all: HubSpot's rolling window is ten seconds. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 10_000;

function isApiException(e: unknown): e is ApiExceptionLike {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number';
}

function header(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/**
 * How long to hold off after a 429: Retry-After (seconds or an HTTP date) when sent, because it is the vendor's
 * explicit answer; else the rate-limit interval, the longest the rolling window can take to free a slot.
 */
export function retryAfterMs(
  headers: Record<string, string | undefined> | undefined,
  now = Date.now(),
): number {
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const interval = Number(header(headers, 'x-hubspot-ratelimit-interval-milliseconds'));
  if (Number.isFinite(interval) && interval > 0) return interval;
  return DEFAULT_RATE_LIMIT_WAIT_MS;
}

function bodyField(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : undefined;
}

/** Translates anything the SDK throws. Never retries; the engine reads `code` and `retryAfterMs`. */
export function translateHubSpotError(e: unknown): ConnectorError {
  if (isApiException(e) && e.code >= 100) {
    const status = e.code;
    const category = bodyField(e.body, 'category');
    const message = bodyField(e.body, 'message') ?? `HubSpot answered HTTP ${status}`;
    const details = { status, vendorCode: category, cause: e };
    // 403 is a token without the needed scope: only fixing the connection helps, as with 401.
    if (status === 401 || status === 403)
      return new ConnectorError(ConnectorErrorCode.Auth, message, details);
    if (status === 429) {
      return new ConnectorError(ConnectorErrorCode.RateLimited, message, {
        ...details,
        retryAfterMs: retryAfterMs(e.headers),
      });
    }
    if (status >= 500 || status === 408)
      return new ConnectorError(ConnectorErrorCode.Temporary, message, details);
    if (status === 404) return new ConnectorError(ConnectorErrorCode.NotFound, message, details);
    // A whole request refused as invalid is our request's shape (batch size, duplicate ids, search cap), not
    // one record's data: retrying or fixing a record will not help.
    return new ConnectorError(ConnectorErrorCode.Permanent, message, details);
  }
  const err = e as { code?: unknown; name?: unknown; type?: unknown; message?: unknown; cause?: unknown };
  const sysCode = typeof err?.code === 'string' ? err.code : (err?.cause as { code?: unknown })?.code;
  if (
    (typeof sysCode === 'string' && NETWORK_CODES.has(sysCode)) ||
    err?.type === 'system' ||
    err?.type === 'request-timeout' ||
    err?.name === 'FetchError'
  ) {
    return new ConnectorError(ConnectorErrorCode.Temporary, `HubSpot unreachable: ${String(err.message)}`, {
      vendorCode: typeof sysCode === 'string' ? sysCode : undefined,
      cause: e,
    });
  }
  // A body that does not parse (truncated, not JSON) means the answer was cut in transit.
  if (e instanceof SyntaxError) {
    return new ConnectorError(ConnectorErrorCode.Temporary, `HubSpot answer unreadable: ${e.message}`, {
      cause: e,
    });
  }
  return new ConnectorError(ConnectorErrorCode.Permanent, e instanceof Error ? e.message : String(e), {
    cause: e,
  });
}

/** The code for one record's error inside a 207 answer. */
export function batchErrorCode(error: HubSpotBatchError): ConnectorErrorCode {
  switch (error.category) {
    case 'VALIDATION_ERROR':
    case 'CONFLICT':
    case 'OBJECT_ALREADY_EXISTS':
      // The record's own values are at fault (bad email, bad option, unique value held by another record).
      return ConnectorErrorCode.InvalidData;
    case 'OBJECT_NOT_FOUND':
      return ConnectorErrorCode.NotFound;
    case 'RATE_LIMITS':
      return ConnectorErrorCode.RateLimited;
    case 'INTERNAL_ERROR':
    case 'SERVICE_UNAVAILABLE':
      return ConnectorErrorCode.Temporary;
    default:
      return ConnectorErrorCode.Permanent;
  }
}

/** The vendor-level code worth keeping with a failed outcome (e.g. INVALID_EMAIL rather than VALIDATION_ERROR). */
export function batchErrorVendorCode(error: HubSpotBatchError): string | undefined {
  return error.errors?.find((x) => x.code)?.code ?? error.category;
}
