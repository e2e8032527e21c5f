// __Name__ webhook deliveries: HMAC-SHA256 over "<timestamp>.<raw body>" with the connection's webhook secret,
// compared in constant time, and a five-minute timestamp window against replays. Parses contact events; each
// event id is the inbox key that makes redeliveries no-ops.
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type ConnectionContext,
  type WebhookEvent,
  WebhookEventType,
  type WebhookHandler,
  WebhookRejection,
  type WebhookRequest,
  WebhookVerificationError,
} from '../../src/connectors';

export const SIGNATURE_HEADER = 'x-__id__-signature';
export const TIMESTAMP_HEADER = 'x-__id__-timestamp';
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

/** "v1=<hex>" for a body and a timestamp (epoch seconds); the sandbox signs with the same function. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

function header(request: WebhookRequest, name: string): string | undefined {
  for (const [k, v] of Object.entries(request.headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** Constant time for equal lengths; a length mismatch only reveals the (public) length. */
function same(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.trim(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const forged = (why: string) => new WebhookVerificationError(WebhookRejection.Forged, why);
const malformed = (why: string) => new WebhookVerificationError(WebhookRejection.Malformed, why);

interface RawEvent {
  id?: unknown;
  type?: unknown;
  contact_id?: unknown;
  occurred_at?: unknown;
  contact?: unknown;
}

const EVENT_TYPES: Record<string, WebhookEventType> = {
  'contact.created': WebhookEventType.Upsert,
  'contact.updated': WebhookEventType.Upsert,
  'contact.deleted': WebhookEventType.Delete,
};

export class __Class__WebhookHandler implements WebhookHandler {
  verify(connection: ConnectionContext, request: WebhookRequest): void {
    const secret = connection.credentials.webhookSecret;
    // Without the secret nothing can be proven about the sender, so nothing is accepted.
    if (!secret) throw forged('connection has no webhookSecret to verify __Name__ signatures with');
    const ts = header(request, TIMESTAMP_HEADER)?.trim();
    if (!ts || !/^\d+$/.test(ts)) throw forged(`${TIMESTAMP_HEADER} missing or not epoch seconds`);
    // Before the signature: a replayed genuine delivery is stale, not forged.
    if (Math.abs(request.receivedAt.getTime() - Number(ts) * 1000) > MAX_TIMESTAMP_SKEW_MS)
      throw new WebhookVerificationError(WebhookRejection.Stale, `${TIMESTAMP_HEADER} outside 5 minutes`);
    const given = header(request, SIGNATURE_HEADER);
    if (!given) throw forged(`no ${SIGNATURE_HEADER} header`);
    const expected = signWebhook(secret, ts, request.rawBody.toString('utf8'));
    // Several comma-separated signatures are allowed while the vendor rotates its secret.
    if (!given.split(',').some((s) => same(expected, s))) throw forged(`${SIGNATURE_HEADER} does not match`);
  }

  parse(_connection: ConnectionContext, request: WebhookRequest): WebhookEvent[] {
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      throw malformed('body is not JSON');
    }
    const events = (body as { events?: unknown } | null)?.events;
    if (!Array.isArray(events)) throw malformed('body has no events array');
    return events.map((raw: RawEvent, i) => {
      if (typeof raw?.id !== 'string' || typeof raw.type !== 'string' || typeof raw.occurred_at !== 'string')
        throw malformed(`event ${i} lacks id, type or occurred_at`);
      const record =
        raw.contact && typeof raw.contact === 'object' ? (raw.contact as Record<string, unknown>) : undefined;
      return {
        eventId: raw.id,
        type: EVENT_TYPES[raw.type] ?? WebhookEventType.Other,
        object: 'contacts',
        externalId: typeof raw.contact_id === 'string' ? raw.contact_id : undefined,
        occurredAt: new Date(raw.occurred_at).toISOString(),
        record,
        // Without the record the engine fetches it with readByIds.
        partial: !record,
        vendorType: raw.type,
      };
    });
  }
}
