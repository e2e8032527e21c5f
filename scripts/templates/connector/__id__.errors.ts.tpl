// __Name__ failures -> the closed ConnectorError codes, at the connector's edge. The client throws
// __Class__HttpError for any non-2xx answer; network failures arrive as fetch's own errors. Nothing here retries:
// the engine reads `code` and `retryAfterMs` and decides.
import { ConnectorError, ConnectorErrorCode } from '../../src/connectors';

/** Used when a 429 names no wait: the vendor's rate window (adjust to the vendor's documentation). */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000;

/** A non-2xx answer from the __Name__ API, as the client saw it. */
export class __Class__HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string>,
  ) {
    super(vendorMessage(body) ?? `__Name__ answered HTTP ${status}`);
    this.name = '__Class__HttpError';
  }

  /** The vendor's own error code, e.g. "UNAUTHORIZED" from { error: { code } }. */
  get vendorCode(): string | undefined {
    const error = (this.body as { error?: { code?: unknown } } | undefined)?.error;
    return typeof error?.code === 'string' ? error.code : undefined;
  }
}

function vendorMessage(body: unknown): string | undefined {
  const error = (body as { error?: { message?: unknown } } | undefined)?.error;
  return typeof error?.message === 'string' ? error.message : undefined;
}

/** Retry-After in seconds or as an HTTP date; the default when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number {
  const v = value?.trim();
  if (v && /^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = v ? Date.parse(v) : NaN;
  return Number.isFinite(at) ? Math.max(0, at - now) : DEFAULT_RATE_LIMIT_WAIT_MS;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** Translates anything a request to __Name__ throws. */
export function translate__Class__Error(e: unknown): ConnectorError {
  if (e instanceof ConnectorError) return e;
  if (e instanceof __Class__HttpError) {
    const details = { status: e.status, vendorCode: e.vendorCode, cause: e };
    if (e.status === 401 || e.status === 403)
      return new ConnectorError(ConnectorErrorCode.Auth, e.message, details);
    if (e.status === 429)
      return new ConnectorError(ConnectorErrorCode.RateLimited, e.message, {
        ...details,
        retryAfterMs: retryAfterMs(e.headers['retry-after']),
      });
    if (e.status >= 500 || e.status === 408)
      return new ConnectorError(ConnectorErrorCode.Temporary, e.message, details);
    if (e.status === 404) return new ConnectorError(ConnectorErrorCode.NotFound, e.message, details);
    // A whole request refused is our request's shape (batch size, bad cursor), not one record's data.
    return new ConnectorError(ConnectorErrorCode.Permanent, e.message, details);
  }
  const err = e as { name?: unknown; message?: unknown; code?: unknown; cause?: { code?: unknown } };
  const sysCode =
    typeof err?.cause?.code === 'string'
      ? err.cause.code
      : typeof err?.code === 'string'
        ? err.code
        : undefined;
  // fetch rejects with TypeError("fetch failed") whose cause is the socket error; timeouts abort.
  if (
    (sysCode && NETWORK_CODES.has(sysCode)) ||
    err?.name === 'TimeoutError' ||
    (e instanceof TypeError && err.message === 'fetch failed')
  ) {
    return new ConnectorError(
      ConnectorErrorCode.Temporary,
      `__Name__ unreachable: ${String(err.message)}`,
      { vendorCode: sysCode, cause: e },
    );
  }
  // A body that does not parse was cut in transit.
  if (e instanceof SyntaxError)
    return new ConnectorError(ConnectorErrorCode.Temporary, `__Name__ answer unreadable: ${e.message}`, {
      cause: e,
    });
  return new ConnectorError(ConnectorErrorCode.Permanent, e instanceof Error ? e.message : String(e), {
    cause: e,
  });
}

/** The code for one record's error inside a batch answer. */
export function recordErrorCode(vendorCode: string | undefined): ConnectorErrorCode {
  switch (vendorCode) {
    case 'INVALID_EMAIL':
    case 'INVALID_FIELD':
    case 'MISSING_EMAIL':
      return ConnectorErrorCode.InvalidData;
    case 'NOT_FOUND':
      return ConnectorErrorCode.NotFound;
    default:
      return ConnectorErrorCode.Permanent;
  }
}
