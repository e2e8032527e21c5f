// HubSpot webhook request signatures as HubSpot documents them, producer side. v3: base64 HMAC-SHA256 keyed with
// the app's client secret over method + full URI + raw body + X-HubSpot-Request-Timestamp (epoch ms). v1: hex
// SHA-256 of clientSecret + body; v2: hex SHA-256 of clientSecret + method + URI + body (older apps).
// Exported so tests and the demo can build forged, stale or tampered deliveries on purpose.
import { createHash, createHmac } from 'node:crypto';

export type SignatureVersion = 'v1' | 'v2' | 'v3';

export const HEADER_SIGNATURE_V3 = 'X-HubSpot-Signature-v3';
export const HEADER_TIMESTAMP = 'X-HubSpot-Request-Timestamp';
export const HEADER_SIGNATURE = 'X-HubSpot-Signature';
export const HEADER_SIGNATURE_VERSION = 'X-HubSpot-Signature-Version';

export function signV3(
  clientSecret: string,
  method: string,
  uri: string,
  body: string,
  timestamp: number | string,
): string {
  return createHmac('sha256', clientSecret)
    .update(`${method}${uri}${body}${timestamp}`, 'utf8')
    .digest('base64');
}

export function signV1(clientSecret: string, body: string): string {
  return createHash('sha256').update(`${clientSecret}${body}`, 'utf8').digest('hex');
}

export function signV2(clientSecret: string, method: string, uri: string, body: string): string {
  return createHash('sha256').update(`${clientSecret}${method}${uri}${body}`, 'utf8').digest('hex');
}

export interface SignedDeliveryInput {
  clientSecret: string;
  /** The full target URL the request is POSTed to; v2/v3 sign it as sent. */
  url: string;
  body: string;
  method?: string;
  /** Epoch ms; default now. Pass an old one to build a stale delivery. */
  timestamp?: number;
  /** v3 headers are always sent (as HubSpot does); this adds the legacy X-HubSpot-Signature. Default 'v1'. */
  legacyVersion?: 'v1' | 'v2' | 'none';
}

/** Headers HubSpot sends with a webhook request. */
export function signedWebhookHeaders(input: SignedDeliveryInput): Record<string, string> {
  const method = input.method ?? 'POST';
  const timestamp = input.timestamp ?? Date.now();
  const headers: Record<string, string> = {
    [HEADER_SIGNATURE_V3]: signV3(input.clientSecret, method, input.url, input.body, timestamp),
    [HEADER_TIMESTAMP]: String(timestamp),
  };
  const legacy = input.legacyVersion ?? 'v1';
  if (legacy === 'v1') {
    headers[HEADER_SIGNATURE] = signV1(input.clientSecret, input.body);
    headers[HEADER_SIGNATURE_VERSION] = 'v1';
  } else if (legacy === 'v2') {
    headers[HEADER_SIGNATURE] = signV2(input.clientSecret, method, input.url, input.body);
    headers[HEADER_SIGNATURE_VERSION] = 'v2';
  }
  return headers;
}

/** POSTs a signed delivery by hand (for tests of a receiver: forged, stale, tampered, replayed). */
export async function postSignedDelivery(
  input: SignedDeliveryInput & { tamperBody?: (body: string) => string },
): Promise<Response> {
  const headers = signedWebhookHeaders(input);
  const body = input.tamperBody ? input.tamperBody(input.body) : input.body;
  return fetch(input.url, {
    method: input.method ?? 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
  });
}
