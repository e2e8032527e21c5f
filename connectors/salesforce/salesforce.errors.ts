// Salesforce failures -> the closed ConnectorError codes. Knows Salesforce's vocabulary (REST errorCode,
// SaveResult statusCode, OAuth error names, Sforce-Limit-Info) but not jsforce: the client hands it plain shapes.
import { ConnectorError, ConnectorErrorCode } from '../../src/connectors';

/** What the client knows about the HTTP exchange that failed (absent for network errors). */
export interface SalesforceHttpInfo {
  status?: number;
  headers?: Record<string, string | undefined>;
}

/** Concurrent-request limits clear quickly; Salesforce gives no Retry-After, so we pick a conservative pause. */
export const DEFAULT_RATE_LIMIT_RETRY_MS = 30_000;

const AUTH = new Set([
  'INVALID_SESSION_ID',
  'INVALID_AUTH_HEADER',
  'INVALID_LOGIN',
  'LOGIN_MUST_USE_SECURITY_TOKEN',
  // OAuth token endpoint error names
  'invalid_client',
  'invalid_client_id',
  'invalid_client_credentials',
  'invalid_grant',
  'unauthorized_client',
  'inactive_user',
  'inactive_org',
]);
const RATE_LIMITED = new Set(['REQUEST_LIMIT_EXCEEDED', 'TOO_MANY_REQUESTS', 'ERROR_HTTP_429']);
const TEMPORARY = new Set([
  'UNKNOWN_EXCEPTION',
  'SERVER_UNAVAILABLE',
  'UNABLE_TO_LOCK_ROW',
  'QUERY_TIMEOUT',
  'INVALID_QUERY_LOCATOR',
]);
const NOT_FOUND = new Set(['NOT_FOUND', 'ENTITY_IS_DELETED']);
const INVALID_DATA = new Set([
  'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  'INVALID_EMAIL_ADDRESS',
  'REQUIRED_FIELD_MISSING',
  'STRING_TOO_LONG',
  'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
  'INVALID_TYPE_ON_FIELD_IN_RECORD',
  'FIELD_INTEGRITY_EXCEPTION',
  'DUPLICATE_VALUE',
  'DUPLICATES_DETECTED',
  'DUPLICATE_EXTERNAL_ID',
  'INVALID_CROSS_REFERENCE_KEY',
  'MISSING_ARGUMENT',
  'NUMBER_OUTSIDE_VALID_RANGE',
]);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
]);

/** Code for one Salesforce error code (request errorCode or per-record statusCode). */
export function codeForSalesforceError(vendorCode: string, status?: number): ConnectorErrorCode {
  if (AUTH.has(vendorCode)) return ConnectorErrorCode.Auth;
  if (RATE_LIMITED.has(vendorCode)) return ConnectorErrorCode.RateLimited;
  if (NOT_FOUND.has(vendorCode)) return ConnectorErrorCode.NotFound;
  if (INVALID_DATA.has(vendorCode)) return ConnectorErrorCode.InvalidData;
  if (TEMPORARY.has(vendorCode) || /^ERROR_HTTP_5\d\d$/.test(vendorCode)) return ConnectorErrorCode.Temporary;
  if (status !== undefined) {
    if (status === 401) return ConnectorErrorCode.Auth;
    if (status === 429) return ConnectorErrorCode.RateLimited;
    if (status >= 500) return ConnectorErrorCode.Temporary;
    if (status === 404) return ConnectorErrorCode.NotFound;
  }
  return ConnectorErrorCode.Permanent;
}

/**
 * retry-after for REQUEST_LIMIT_EXCEEDED. When Sforce-Limit-Info shows the daily budget spent, the org must
 * wait for its 24-hour window to roll; we wait until the next UTC day (where the counter resets), at least a
 * minute. Otherwise it is a concurrency limit and clears in seconds.
 */
export function rateLimitRetryAfterMs(
  headers: Record<string, string | undefined> | undefined,
  message: string,
  now = Date.now(),
): number {
  const info = headers?.['sforce-limit-info'];
  const m = info ? /api-usage=(\d+)\/(\d+)/.exec(info) : null;
  const dailySpent = (m !== null && Number(m[1]) >= Number(m[2])) || /TotalRequests/i.test(message);
  if (!dailySpent) return DEFAULT_RATE_LIMIT_RETRY_MS;
  const nextDay = (Math.floor(now / 86_400_000) + 1) * 86_400_000;
  return Math.max(60_000, nextDay - now);
}

/** The fields of an error thrown by jsforce/node-fetch that we read; everything is optional. */
interface ErrorLike {
  name?: unknown;
  errorCode?: unknown;
  code?: unknown;
  type?: unknown;
  message?: unknown;
  data?: unknown;
}

/** Translates anything a Salesforce call threw into a ConnectorError. */
export function translateSalesforceError(err: unknown, http: SalesforceHttpInfo = {}): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const status = http.status;

  // Multiple errors in one response: the first decides (Salesforce lists the cause first).
  // SOAP faults carry the code as a QName (faultcode "sf:INVALID_SESSION_ID"); REST errors carry it bare.
  let vendorCode =
    typeof e.errorCode === 'string' ? e.errorCode.replace(/^[A-Za-z][\w.-]*:(?=[A-Z_]+$)/, '') : undefined;
  if (vendorCode === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data)) {
    const first = e.data[0] as { errorCode?: unknown } | undefined;
    if (typeof first?.errorCode === 'string') vendorCode = first.errorCode;
  }
  if (!vendorCode && typeof e.name === 'string' && (AUTH.has(e.name) || /^[A-Z_]+$/.test(e.name)))
    vendorCode = e.name;

  const details = { vendorCode, status, cause: err };
  if (vendorCode) {
    const code = codeForSalesforceError(vendorCode, status);
    if (code === ConnectorErrorCode.RateLimited) {
      return new ConnectorError(code, message, {
        ...details,
        retryAfterMs: rateLimitRetryAfterMs(http.headers, message),
      });
    }
    return new ConnectorError(code, message, details);
  }
  // No Salesforce error body: transport-level trouble.
  const sysCode = typeof e.code === 'string' ? e.code : undefined;
  if (
    (sysCode && NETWORK.has(sysCode)) ||
    e.name === 'AbortError' ||
    e.name === 'FetchError' ||
    /timeout|timed out|socket hang up/i.test(message)
  ) {
    return new ConnectorError(ConnectorErrorCode.Temporary, message, { ...details, vendorCode: sysCode });
  }
  // A 2xx the SDK could not digest (a body cut short or mangled on the way): another try may well work.
  if (status !== undefined && status >= 200 && status < 300) {
    return new ConnectorError(
      ConnectorErrorCode.Temporary,
      `unreadable Salesforce response: ${message}`,
      details,
    );
  }
  if (status !== undefined) {
    const code = codeForSalesforceError(`ERROR_HTTP_${status}`, status);
    const retryAfterMs =
      code === ConnectorErrorCode.RateLimited ? rateLimitRetryAfterMs(http.headers, message) : undefined;
    return new ConnectorError(code, message, { ...details, retryAfterMs });
  }
  return new ConnectorError(ConnectorErrorCode.Permanent, message, details);
}

/** A 2xx whose body is not what the API promises (a proxy cut it, say): worth another try. */
export function unexpectedResponse(what: string): ConnectorError {
  return new ConnectorError(
    ConnectorErrorCode.Temporary,
    `Salesforce returned an unreadable ${what} response`,
  );
}
