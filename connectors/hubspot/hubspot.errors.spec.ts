// Unit spec of the HubSpot error translation: every HTTP shape the SDK throws and every 207 category.
import { ConnectorErrorCode } from '../../src/connectors';
import { batchErrorCode, batchErrorVendorCode, retryAfterMs, translateHubSpotError } from './hubspot.errors';

/** The SDK's ApiException shape: HTTP status as `code`, deserialised body, lower-cased headers. */
const apiError = (code: number, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP-Code: ${code}`), { code, body, headers });

describe('translateHubSpotError', () => {
  it.each([
    [401, 'INVALID_AUTHENTICATION', ConnectorErrorCode.Auth],
    [403, 'MISSING_SCOPES', ConnectorErrorCode.Auth],
    [404, 'OBJECT_NOT_FOUND', ConnectorErrorCode.NotFound],
    [400, 'VALIDATION_ERROR', ConnectorErrorCode.Permanent],
    [409, 'CONFLICT', ConnectorErrorCode.Permanent],
    [413, 'VALIDATION_ERROR', ConnectorErrorCode.Permanent],
    [408, undefined, ConnectorErrorCode.Temporary],
    [500, 'INTERNAL_ERROR', ConnectorErrorCode.Temporary],
    [502, undefined, ConnectorErrorCode.Temporary],
    [503, 'SERVICE_UNAVAILABLE', ConnectorErrorCode.Temporary],
  ])('HTTP %i (%s) -> %s', (status, category, code) => {
    const err = translateHubSpotError(apiError(status, { category, message: 'vendor says no' }));
    expect(err.code).toBe(code);
    expect(err.details).toMatchObject({ status, vendorCode: category });
    expect(err.message).toBe('vendor says no');
  });

  it('429 carries Retry-After (seconds) in ms, else the rate-limit interval, else ten seconds', () => {
    expect(translateHubSpotError(apiError(429, {}, { 'retry-after': '2' })).retryAfterMs).toBe(2_000);
    expect(
      translateHubSpotError(apiError(429, {}, { 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' }))
        .retryAfterMs,
    ).toBe(10_000);
    const both = apiError(
      429,
      {},
      { 'retry-after': '1', 'x-hubspot-ratelimit-interval-milliseconds': '10000' },
    );
    expect(translateHubSpotError(both).retryAfterMs).toBe(1_000);
    const none = translateHubSpotError(apiError(429, { category: 'RATE_LIMITS' }));
    expect([none.code, none.retryAfterMs, none.retryable]).toEqual([
      ConnectorErrorCode.RateLimited,
      10_000,
      true,
    ]);
  });

  it('reads Retry-After as an HTTP date too', () => {
    const now = Date.parse('2025-03-01T12:00:00Z');
    expect(retryAfterMs({ 'Retry-After': 'Sat, 01 Mar 2025 12:00:03 GMT' }, now)).toBe(3_000);
  });

  it('network failures and unreadable bodies are temporary; anything else is permanent', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(translateHubSpotError(refused).code).toBe(ConnectorErrorCode.Temporary);
    const fetchError = Object.assign(new Error('socket hang up'), { name: 'FetchError', type: 'system' });
    expect(translateHubSpotError(fetchError).code).toBe(ConnectorErrorCode.Temporary);
    const wrapped = Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } });
    expect(translateHubSpotError(wrapped).code).toBe(ConnectorErrorCode.Temporary);
    expect(translateHubSpotError(new SyntaxError('Unexpected end of JSON input')).code).toBe(
      ConnectorErrorCode.Temporary,
    );
    expect(translateHubSpotError(new Error('boom')).code).toBe(ConnectorErrorCode.Permanent);
  });
});

describe('per-record (207) errors', () => {
  it.each([
    ['VALIDATION_ERROR', ConnectorErrorCode.InvalidData],
    ['CONFLICT', ConnectorErrorCode.InvalidData],
    ['OBJECT_ALREADY_EXISTS', ConnectorErrorCode.InvalidData],
    ['OBJECT_NOT_FOUND', ConnectorErrorCode.NotFound],
    ['RATE_LIMITS', ConnectorErrorCode.RateLimited],
    ['INTERNAL_ERROR', ConnectorErrorCode.Temporary],
    ['SOMETHING_NEW', ConnectorErrorCode.Permanent],
  ])('%s -> %s', (category, code) => {
    expect(batchErrorCode({ category })).toBe(code);
  });

  it('keeps the most specific vendor code', () => {
    expect(
      batchErrorVendorCode({
        category: 'VALIDATION_ERROR',
        errors: [{ message: 'x', code: 'INVALID_EMAIL' }],
      }),
    ).toBe('INVALID_EMAIL');
    expect(batchErrorVendorCode({ category: 'OBJECT_NOT_FOUND', errors: [] })).toBe('OBJECT_NOT_FOUND');
  });
});
