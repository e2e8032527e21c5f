// Event Webhook payloads and signatures as SendGrid produces them. Pure functions plus a key pair holder;
// delivery (retries, duplicates) belongs to the kit's WebhookDispatcher.
import { createSign, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
export const TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

export const EVENT_TYPES = [
  'processed',
  'delivered',
  'open',
  'click',
  'bounce',
  'dropped',
  'spamreport',
  'unsubscribe',
  'group_unsubscribe',
  'group_resubscribe',
  'deferred',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventSpec {
  event: EventType;
  email: string;
  timestamp?: number; // epoch seconds
  category?: string | string[];
  asm_group_id?: number;
  [extra: string]: unknown;
}

export interface SigningKeys {
  privateKey: KeyObject;
  /** Base64 DER SubjectPublicKeyInfo: the form GET /v3/user/webhooks/event/settings/signed returns. */
  publicKeyBase64: string;
}

export function generateSigningKeys(): SigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey,
    publicKeyBase64: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

/** ECDSA P-256 / SHA-256 over timestamp + raw body, DER signature in base64, as SendGrid documents. */
export function signEventPayload(
  privateKey: KeyObject,
  timestamp: string,
  body: string,
): Record<string, string> {
  const s = createSign('sha256');
  s.update(timestamp + body);
  return { [SIGNATURE_HEADER]: s.sign(privateKey).toString('base64'), [TIMESTAMP_HEADER]: timestamp };
}

function token(n: number): string {
  return randomBytes(n).toString('base64url');
}

/** SendGrid's message id shape: "<14 hex>.filterdrecv-<n>.<n>.<hex>.0". */
function messageId(): string {
  return `${randomBytes(11).toString('base64url')}.filterdrecv-${1000 + randomBytes(1)[0]}-1.${randomBytes(4).readUInt32BE()}.${randomBytes(6).toString('hex').toUpperCase()}.0`;
}

/** Builds one event with the fields SendGrid sends for its type; explicit fields in `spec` win. */
export function buildEvent(spec: EventSpec): Record<string, unknown> {
  const ts = spec.timestamp ?? Math.floor(Date.now() / 1000);
  const msg = messageId();
  const base: Record<string, unknown> = {
    email: spec.email,
    timestamp: ts,
    'smtp-id': `<${token(16)}@ismtpd0001p1iad2.sendgrid.net>`,
    event: spec.event,
    category: spec.category ?? ['newsletter'],
    sg_event_id: token(16),
    sg_message_id: msg,
  };
  const byType: Partial<Record<EventType, Record<string, unknown>>> = {
    delivered: { response: '250 OK', ip: '168.1.1.1', tls: 1 },
    open: {
      useragent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
      ip: '255.255.255.255',
      sg_machine_open: false,
    },
    click: {
      useragent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
      ip: '255.255.255.255',
      url: 'https://example.com/offer',
      url_offset: { index: 0, type: 'html' },
    },
    bounce: {
      reason: '550 5.1.1 The email account that you tried to reach does not exist.',
      status: '5.1.1',
      type: 'bounce',
      bounce_classification: 'Invalid Address',
      ip: '168.1.1.1',
      tls: 1,
    },
    dropped: { reason: 'Bounced Address', status: '5.0.0' },
    deferred: { response: '400 try again later', attempt: '1', ip: '168.1.1.1', tls: 1 },
    group_unsubscribe: {
      asm_group_id: spec.asm_group_id ?? 1,
      useragent: 'Mozilla/5.0',
      ip: '255.255.255.255',
      url: 'https://example.com/unsubscribe',
    },
    group_resubscribe: {
      asm_group_id: spec.asm_group_id ?? 1,
      useragent: 'Mozilla/5.0',
      ip: '255.255.255.255',
      url: 'https://example.com/resubscribe',
    },
  };
  return { ...base, ...(byType[spec.event] ?? {}), ...stripUndefined(spec), timestamp: ts };
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
