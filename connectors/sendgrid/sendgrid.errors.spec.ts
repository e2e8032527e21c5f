// Unit specs for the pure parts: error translation, retry-after, per-record 400s, chunking, errors CSV.
import { ConnectorError, ConnectorErrorCode } from '../../src/connectors';
import { SendGridApiError } from './sendgrid.client';
import { chunkBySizeAndCount, jsonBytes, MAX_REQUEST_BYTES, parseErrorsCsv } from './sendgrid.connector';
import { DEFAULT_RETRY_AFTER_MS, recordErrors, retryAfterMs, translateError } from './sendgrid.errors';

const http = (
  status: number,
  body: unknown = { errors: [{ field: null, message: 'x' }] },
  headers: Record<string, string> = {},
) => new SendGridApiError(`HTTP ${status}`, status, body, headers);

describe('translateError', () => {
  it.each([
    [401, ConnectorErrorCode.Auth],
    [403, ConnectorErrorCode.Auth],
    [404, ConnectorErrorCode.NotFound],
    [500, ConnectorErrorCode.Temporary],
    [502, ConnectorErrorCode.Temporary],
    [503, ConnectorErrorCode.Temporary],
    [405, ConnectorErrorCode.Permanent],
    [409, ConnectorErrorCode.Permanent],
  ])('HTTP %i -> %s', (status, code) => {
    const e = translateError(http(status));
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.code).toBe(code);
    expect(e.details.status).toBe(status);
  });

  it('429 -> rate-limited with retryAfterMs from X-RateLimit-Reset (epoch seconds)', () => {
    const reset = Math.floor(Date.now() / 1000) + 30;
    const e = translateError(
      http(429, { errors: [{ message: 'too many requests' }] }, { 'x-ratelimit-reset': String(reset) }),
    );
    expect(e.code).toBe(ConnectorErrorCode.RateLimited);
    expect(e.retryable).toBe(true);
    expect(e.retryAfterMs).toBeGreaterThan(28_000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('400 naming fields -> invalid-data, 400 without fields -> permanent, 413 -> invalid-data', () => {
    expect(translateError(http(400, { errors: [{ field: 'contacts[0].email', message: 'bad' }] })).code).toBe(
      ConnectorErrorCode.InvalidData,
    );
    expect(translateError(http(400, { errors: [{ field: null, message: 'bad' }] })).code).toBe(
      ConnectorErrorCode.Permanent,
    );
    expect(translateError(http(413, 'too large')).code).toBe(ConnectorErrorCode.InvalidData);
  });

  it('network failures and unknown errors -> temporary', () => {
    const e = translateError(new SendGridApiError('socket hang up', undefined, undefined, {}, 'ECONNRESET'));
    expect(e.code).toBe(ConnectorErrorCode.Temporary);
    expect(e.details.vendorCode).toBe('ECONNRESET');
    expect(translateError(new Error('boom')).code).toBe(ConnectorErrorCode.Temporary);
  });

  it('passes ConnectorErrors through unchanged', () => {
    const original = new ConnectorError(ConnectorErrorCode.Auth, 'no key');
    expect(translateError(original)).toBe(original);
  });

  it('names the vendor messages', () => {
    expect(
      translateError(
        http(400, { errors: [{ field: 'list_ids', message: "list ID 'x' does not exist" }] }),
        'upsert',
      ).message,
    ).toBe("upsert: list_ids: list ID 'x' does not exist");
  });
});

describe('retryAfterMs', () => {
  it('prefers X-RateLimit-Reset, then Retry-After, then a default', () => {
    expect(retryAfterMs({ 'x-ratelimit-reset': '1010' }, 1_000_000)).toBe(10_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': '900' }, 1_000_000)).toBe(0); // already past: retry now
    expect(retryAfterMs({ 'retry-after': '3' })).toBe(3_000);
    expect(retryAfterMs({})).toBe(DEFAULT_RETRY_AFTER_MS);
  });
});

describe('recordErrors', () => {
  it('groups contacts[i] field errors by index and ignores request-level ones', () => {
    const m = recordErrors({
      errors: [
        { field: 'contacts[2].email', message: 'must be a string' },
        { field: 'contacts[2].city', message: 'length must be at most 60' },
        { field: 'contacts[5]', message: 'at least one identifier is required' },
        { field: 'list_ids', message: 'nope' },
      ],
    });
    expect([...m.keys()]).toEqual([2, 5]);
    expect(m.get(2)).toBe('contacts[2].email: must be a string; contacts[2].city: length must be at most 60');
  });
});

describe('chunkBySizeAndCount (the 30,000-contact and 6 MB limits)', () => {
  const envelope = jsonBytes({ contacts: [] });

  it('splits by count', () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ email: `a${i}@x.io` }));
    const { chunks } = chunkBySizeAndCount(items, jsonBytes, {
      maxCount: 3,
      maxBytes: MAX_REQUEST_BYTES,
      envelopeBytes: envelope,
    });
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 1]);
    expect(chunks.flat()).toEqual(items);
  });

  it('splits by bytes so every serialized request is at most 6 MiB, keeping order', () => {
    // ~700 KB contacts: 8 fit in 6 MiB by size, 20 of them need 3 requests although the count limit allows all.
    const big = 'x'.repeat(700 * 1024);
    const items = Array.from({ length: 20 }, (_, i) => ({
      email: `c${i}@x.io`,
      custom_fields: { e1_T: big },
    }));
    const { chunks, oversize } = chunkBySizeAndCount(items, jsonBytes, {
      maxCount: 30_000,
      maxBytes: MAX_REQUEST_BYTES,
      envelopeBytes: envelope,
    });
    expect(oversize).toEqual([]);
    expect(chunks.length).toBe(3);
    for (const c of chunks)
      expect(Buffer.byteLength(JSON.stringify({ contacts: c }))).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    // Greedy: a chunk is closed only when the next contact would not fit.
    expect(Buffer.byteLength(JSON.stringify({ contacts: [...chunks[0], chunks[1][0]] }))).toBeGreaterThan(
      MAX_REQUEST_BYTES,
    );
    expect(chunks.flat()).toEqual(items);
  });

  it('counts the exact body bytes, commas and multi-byte characters included', () => {
    const items = Array.from({ length: 10 }, () => ({ n: 'é'.repeat(10) })); // 2 bytes per é
    const one = jsonBytes(items[0]);
    const exactForThree = envelope + 3 * one + 2; // two commas
    const { chunks } = chunkBySizeAndCount(items, jsonBytes, {
      maxCount: 100,
      maxBytes: exactForThree,
      envelopeBytes: envelope,
    });
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(Buffer.byteLength(JSON.stringify({ contacts: chunks[0] }))).toBe(exactForThree);
  });

  it('reports a contact that alone exceeds the limit instead of sending it', () => {
    const items = [{ a: 'small' }, { a: 'y'.repeat(200) }, { a: 'small2' }];
    const { chunks, oversize } = chunkBySizeAndCount(items, jsonBytes, {
      maxCount: 10,
      maxBytes: envelope + 100,
      envelopeBytes: envelope,
    });
    expect(oversize).toEqual([items[1]]);
    expect(chunks).toEqual([[items[0], items[2]]]);
  });
});

describe('parseErrorsCsv', () => {
  it('reads index and error with quoted cells', () => {
    const csv =
      'index,email,phone_number_id,external_id,anonymous_id,error\n"1","bad@","","","","email: invalid email address"\n"4","a@b.io","","","","custom_fields.e9_T: custom field ID not found, ""quoted"""\n';
    const m = parseErrorsCsv(csv);
    expect(m.get(1)).toBe('email: invalid email address');
    expect(m.get(4)).toBe('custom_fields.e9_T: custom field ID not found, "quoted"');
    expect(m.size).toBe(2);
  });
});
