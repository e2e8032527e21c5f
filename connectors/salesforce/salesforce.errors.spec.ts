// Error translation as a table: Salesforce's vocabulary in, the closed ConnectorError codes out.
import { ConnectorError, ConnectorErrorCode } from '../../src/connectors';
import {
  DEFAULT_RATE_LIMIT_RETRY_MS,
  codeForSalesforceError,
  rateLimitRetryAfterMs,
  translateSalesforceError,
} from './salesforce.errors';

/** The shape jsforce throws for a REST error body: name and errorCode are Salesforce's errorCode. */
function apiError(errorCode: string, message = 'x'): Error {
  return Object.assign(new Error(message), { name: errorCode, errorCode });
}

describe('Salesforce error translation', () => {
  it.each([
    ['INVALID_SESSION_ID', 401, ConnectorErrorCode.Auth],
    ['invalid_grant', undefined, ConnectorErrorCode.Auth],
    ['REQUEST_LIMIT_EXCEEDED', 403, ConnectorErrorCode.RateLimited],
    ['UNKNOWN_EXCEPTION', 500, ConnectorErrorCode.Temporary],
    ['SERVER_UNAVAILABLE', 503, ConnectorErrorCode.Temporary],
    ['UNABLE_TO_LOCK_ROW', 400, ConnectorErrorCode.Temporary],
    ['MALFORMED_QUERY', 400, ConnectorErrorCode.Permanent],
    ['INVALID_FIELD', 400, ConnectorErrorCode.Permanent],
    ['FIELD_CUSTOM_VALIDATION_EXCEPTION', 400, ConnectorErrorCode.InvalidData],
    ['INVALID_EMAIL_ADDRESS', 400, ConnectorErrorCode.InvalidData],
    ['REQUIRED_FIELD_MISSING', 400, ConnectorErrorCode.InvalidData],
    ['NOT_FOUND', 404, ConnectorErrorCode.NotFound],
    ['ENTITY_IS_DELETED', 404, ConnectorErrorCode.NotFound],
  ])('%s (HTTP %s) -> %s', (vendorCode, status, expected) => {
    const err = translateSalesforceError(apiError(vendorCode), { status });
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.code).toBe(expected);
    expect(err.details.vendorCode).toBe(vendorCode);
    expect(err.details.status).toBe(status);
    expect(codeForSalesforceError(vendorCode)).toBe(expected);
  });

  it('gives rate limits a retry-after: the daily window when Sforce-Limit-Info shows it spent, else a default', () => {
    const concurrent = translateSalesforceError(
      apiError('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
      { status: 403 },
    );
    expect(concurrent.retryAfterMs).toBe(DEFAULT_RATE_LIMIT_RETRY_MS);
    expect(concurrent.retryable).toBe(true);
    const noon = Date.UTC(2025, 0, 1, 12);
    expect(
      rateLimitRetryAfterMs(
        { 'sforce-limit-info': 'api-usage=100/100' },
        'TotalRequests Limit exceeded.',
        noon,
      ),
    ).toBe(12 * 3_600_000);
    expect(
      rateLimitRetryAfterMs({ 'sforce-limit-info': 'api-usage=5/100' }, 'ConcurrentPerOrgLongTxn', noon),
    ).toBe(DEFAULT_RATE_LIMIT_RETRY_MS);
    expect(
      rateLimitRetryAfterMs(undefined, 'TotalRequests Limit exceeded.', Date.UTC(2025, 0, 1, 23, 59, 50)),
    ).toBe(60_000);
    expect(translateSalesforceError(new Error('Too many'), { status: 429 })).toMatchObject({
      code: ConnectorErrorCode.RateLimited,
      details: { retryAfterMs: DEFAULT_RATE_LIMIT_RETRY_MS },
    });
  });

  it('treats network failures, timeouts and unreadable 2xx bodies as temporary', () => {
    const reset = Object.assign(new Error('socket hang up'), { name: 'FetchError', code: 'ECONNRESET' });
    expect(translateSalesforceError(reset)).toMatchObject({
      code: ConnectorErrorCode.Temporary,
      details: { vendorCode: 'ECONNRESET' },
    });
    expect(
      translateSalesforceError(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }))
        .code,
    ).toBe(ConnectorErrorCode.Temporary);
    expect(
      translateSalesforceError(new TypeError("Cannot read properties of undefined (reading 'length')"), {
        status: 200,
      }).code,
    ).toBe(ConnectorErrorCode.Temporary);
    expect(translateSalesforceError(new Error('<html>bad gateway</html>'), { status: 502 }).code).toBe(
      ConnectorErrorCode.Temporary,
    );
  });

  it('uses the first of several errors, keeps ConnectorErrors, and calls anything unknown permanent', () => {
    const multi = Object.assign(new Error('Multiple errors'), {
      name: 'MULTIPLE_API_ERRORS',
      errorCode: 'MULTIPLE_API_ERRORS',
      data: [
        { errorCode: 'INVALID_FIELD', message: 'a' },
        { errorCode: 'X', message: 'b' },
      ],
    });
    expect(translateSalesforceError(multi)).toMatchObject({
      code: ConnectorErrorCode.Permanent,
      details: { vendorCode: 'INVALID_FIELD' },
    });
    const own = new ConnectorError(ConnectorErrorCode.NotFound, 'gone');
    expect(translateSalesforceError(own)).toBe(own);
    expect(translateSalesforceError(apiError('INSUFFICIENT_ACCESS_OR_READONLY'), { status: 400 }).code).toBe(
      ConnectorErrorCode.Permanent,
    );
    expect(translateSalesforceError('weird').code).toBe(ConnectorErrorCode.Permanent);
  });
});
