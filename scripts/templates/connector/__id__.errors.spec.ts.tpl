// Error translation for __Name__: every vendor failure lands on one closed code.
import { ConnectorErrorCode } from '../../src/connectors';
import {
  __Class__HttpError,
  recordErrorCode,
  retryAfterMs,
  translate__Class__Error,
} from './__id__.errors';

const http = (status: number, headers: Record<string, string> = {}) =>
  new __Class__HttpError(status, { error: { code: 'X', message: `status ${status}` } }, headers);

describe('__Name__ error translation', () => {
  it.each([
    [401, ConnectorErrorCode.Auth],
    [403, ConnectorErrorCode.Auth],
    [404, ConnectorErrorCode.NotFound],
    [400, ConnectorErrorCode.Permanent],
    [500, ConnectorErrorCode.Temporary],
    [503, ConnectorErrorCode.Temporary],
  ])('HTTP %i -> %s', (status, code) => {
    expect(translate__Class__Error(http(status)).code).toBe(code);
  });

  it('429 carries the Retry-After wait', () => {
    const e = translate__Class__Error(http(429, { 'retry-after': '2' }));
    expect(e.code).toBe(ConnectorErrorCode.RateLimited);
    expect(e.retryAfterMs).toBe(2000);
    expect(retryAfterMs(undefined)).toBeGreaterThan(0);
  });

  it('network failures are temporary, unknown errors permanent', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(translate__Class__Error(refused).code).toBe(ConnectorErrorCode.Temporary);
    expect(translate__Class__Error(new SyntaxError('Unexpected end of JSON input')).code).toBe(
      ConnectorErrorCode.Temporary,
    );
    expect(translate__Class__Error(new Error('boom')).code).toBe(ConnectorErrorCode.Permanent);
  });

  it('per-record codes', () => {
    expect(recordErrorCode('INVALID_EMAIL')).toBe(ConnectorErrorCode.InvalidData);
    expect(recordErrorCode('NOT_FOUND')).toBe(ConnectorErrorCode.NotFound);
    expect(recordErrorCode(undefined)).toBe(ConnectorErrorCode.Permanent);
  });
});
