// HubSpot webhook deliveries: signature check (v3, or v1/v2 for apps created before v3) and parsing of contact
// events. HubSpot POSTs a JSON array of up to 100 events; each redelivery keeps its eventId, which is the inbox key.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  type ConnectionContext,
  type WebhookEvent,
  WebhookEventType,
  type WebhookHandler,
  WebhookRejection,
  type WebhookRequest,
  WebhookVerificationError,
} from '../../src/connectors';

/** HubSpot's documented window: reject v3 requests whose timestamp is older than five minutes. */
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

const H_SIGNATURE_V3 = 'x-hubspot-signature-v3';
const H_TIMESTAMP = 'x-hubspot-request-timestamp';
const H_SIGNATURE = 'x-hubspot-signature';
const H_SIGNATURE_VERSION = 'x-hubspot-signature-version';

function header(request: WebhookRequest, name: string): string | undefined {
  for (const [k, v] of Object.entries(request.headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** Constant time for equal lengths; a length mismatch reveals only the length, which is public anyway. */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.trim(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const forged = (why: string) => new WebhookVerificationError(WebhookRejection.Forged, why);
const malformed = (why: string) => new WebhookVerificationError(WebhookRejection.Malformed, why);

interface RawEvent {
  eventId?: unknown;
  subscriptionType?: unknown;
  objectId?: unknown;
  occurredAt?: unknown;
  propertyName?: unknown;
  propertyValue?: unknown;
  portalId?: unknown;
  attemptNumber?: unknown;
}

export class HubSpotWebhookHandler implements WebhookHandler {
  verify(connection: ConnectionContext, request: WebhookRequest): void {
    const secret = connection.credentials.clientSecret;
    // Without the app secret nothing can be proven about the sender, so nothing is accepted.
    if (!secret) throw forged('connection has no clientSecret to verify HubSpot signatures with');
    const body = request.rawBody.toString('utf8');
    const method = request.method.toUpperCase();

    const v3 = header(request, H_SIGNATURE_V3);
    if (v3 !== undefined) {
      const ts = header(request, H_TIMESTAMP);
      if (!ts || !/^\d+$/.test(ts.trim()))
        throw forged('X-HubSpot-Request-Timestamp missing or not epoch ms');
      // Checked before the signature: a replayed genuine delivery is stale, not forged.
      if (Math.abs(request.receivedAt.getTime() - Number(ts)) > MAX_TIMESTAMP_SKEW_MS) {
        throw new WebhookVerificationError(
          WebhookRejection.Stale,
          'X-HubSpot-Request-Timestamp outside 5 minutes',
        );
      }
      const expected = createHmac('sha256', secret)
        .update(`${method}${request.url}${body}${ts.trim()}`, 'utf8')
        .digest('base64');
      if (!sameSignature(expected, v3)) throw forged('X-HubSpot-Signature-v3 does not match');
      return;
    }

    // Legacy apps: no timestamp is signed, so replay cannot be detected here (the eventId inbox makes replays no-ops).
    const legacy = header(request, H_SIGNATURE);
    if (legacy === undefined) throw forged('no HubSpot signature header');
    const version = (header(request, H_SIGNATURE_VERSION) ?? 'v1').trim().toLowerCase();
    let source: string;
    if (version === 'v1') source = `${secret}${body}`;
    else if (version === 'v2') source = `${secret}${method}${request.url}${body}`;
    else throw forged(`unknown X-HubSpot-Signature-Version ${version}`);
    const expected = createHash('sha256').update(source, 'utf8').digest('hex');
    if (!sameSignature(expected, legacy.toLowerCase()))
      throw forged(`X-HubSpot-Signature (${version}) does not match`);
  }

  parse(_connection: ConnectionContext, request: WebhookRequest): WebhookEvent[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      throw malformed('body is not JSON');
    }
    if (!Array.isArray(parsed)) throw malformed('HubSpot sends a JSON array of events');
    return parsed.map((raw, i) => this.event(raw as RawEvent, i));
  }

  private event(raw: RawEvent, index: number): WebhookEvent {
    if (!raw || typeof raw !== 'object') throw malformed(`event ${index} is not an object`);
    const { eventId, subscriptionType, objectId, occurredAt } = raw;
    if ((typeof eventId !== 'number' && typeof eventId !== 'string') || String(eventId) === '')
      throw malformed(`event ${index} has no eventId`);
    if (typeof subscriptionType !== 'string') throw malformed(`event ${index} has no subscriptionType`);
    const at = typeof occurredAt === 'number' ? occurredAt : Number(occurredAt);
    if (!Number.isFinite(at)) throw malformed(`event ${index} has no occurredAt`);
    const [objectType] = subscriptionType.split('.');
    const event: WebhookEvent = {
      eventId: String(eventId),
      type: WebhookEventType.Other,
      object: objectType === 'contact' ? 'contacts' : objectType,
      externalId: objectId === undefined || objectId === null ? undefined : String(objectId),
      // HubSpot sends epoch milliseconds.
      occurredAt: new Date(at).toISOString(),
      partial: false,
      vendorType: subscriptionType,
    };
    switch (subscriptionType) {
      case 'contact.creation':
      case 'contact.restore':
        // The event carries no properties: the engine reads the record.
        return { ...event, type: WebhookEventType.Upsert, partial: true };
      case 'contact.propertyChange': {
        if (typeof raw.propertyName !== 'string') throw malformed(`event ${index} has no propertyName`);
        const value =
          raw.propertyValue === undefined || raw.propertyValue === null ? null : String(raw.propertyValue);
        // One property only, so partial: the engine fetches the whole current record before merging.
        return {
          ...event,
          type: WebhookEventType.Upsert,
          partial: true,
          record: { id: event.externalId, properties: { [raw.propertyName]: value } },
        };
      }
      case 'contact.deletion':
      case 'contact.privacyDeletion':
        return { ...event, type: WebhookEventType.Delete };
      default:
        return event;
    }
  }
}
