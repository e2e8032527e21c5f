// SendGrid Event Webhook: ECDSA P-256 / SHA-256 signature over (timestamp + raw body), a freshness window,
// and parsing of the event array into consent / deliverability / other events.
import { createPublicKey, verify as ecdsaVerify, type KeyObject } from 'node:crypto';
import {
  WebhookEventType,
  WebhookRejection,
  WebhookVerificationError,
  type ConnectionContext,
  type WebhookAck,
  type WebhookEvent,
  type WebhookHandler,
  type WebhookRequest,
} from '../../src/connectors';

export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';
export const DEFAULT_TOLERANCE_MS = 10 * 60 * 1000;

const CONSENT_EVENTS = new Set(['unsubscribe', 'group_unsubscribe', 'spamreport']);

function header(req: WebhookRequest, name: string): string | undefined {
  for (const [k, v] of Object.entries(req.headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

export class SendGridWebhooks implements WebhookHandler {
  // Parsing a DER key per delivery is wasted work; keys change only when the webhook is re-signed.
  private readonly keys = new Map<string, KeyObject>();

  verify(connection: ConnectionContext, request: WebhookRequest): void {
    const signature = header(request, SIGNATURE_HEADER);
    const timestamp = header(request, TIMESTAMP_HEADER);
    if (!signature || !timestamp)
      throw new WebhookVerificationError(WebhookRejection.Forged, 'missing SendGrid signature headers');
    if (!/^\d{1,12}$/.test(timestamp))
      throw new WebhookVerificationError(WebhookRejection.Forged, 'timestamp header is not epoch seconds');
    const key = this.publicKey(connection);
    let ok = false;
    try {
      // ECDSA verification checks the math, not bytes against bytes, so there is no comparison to time.
      ok = ecdsaVerify(
        'sha256',
        Buffer.concat([Buffer.from(timestamp, 'utf8'), request.rawBody]),
        key,
        Buffer.from(signature, 'base64'),
      );
    } catch {
      ok = false; // a signature that is not valid DER is a forgery, not a crash
    }
    if (!ok)
      throw new WebhookVerificationError(WebhookRejection.Forged, 'Event Webhook signature does not verify');
    const tolerance = Number(connection.settings.webhookToleranceMs ?? DEFAULT_TOLERANCE_MS);
    if (Math.abs(request.receivedAt.getTime() - Number(timestamp) * 1000) > tolerance) {
      // Checked after the signature so a replay of a genuine old delivery is reported as stale, not forged.
      throw new WebhookVerificationError(
        WebhookRejection.Stale,
        `Event Webhook timestamp ${timestamp} is outside the ${tolerance} ms window`,
      );
    }
  }

  parse(_connection: ConnectionContext, request: WebhookRequest): WebhookEvent[] {
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      throw new WebhookVerificationError(WebhookRejection.Malformed, 'Event Webhook body is not JSON');
    }
    if (!Array.isArray(body))
      throw new WebhookVerificationError(
        WebhookRejection.Malformed,
        'Event Webhook body must be an array of events',
      );
    return body.map((raw, i) => parseEvent(raw, i));
  }

  ack(): WebhookAck {
    return { status: 200, contentType: 'application/json', body: '{"ok":true}' };
  }

  private publicKey(connection: ConnectionContext): KeyObject {
    const raw = connection.credentials.webhookPublicKey?.trim();
    if (!raw)
      throw new WebhookVerificationError(
        WebhookRejection.Forged,
        'no webhookPublicKey configured: cannot verify',
      );
    let key = this.keys.get(raw);
    if (!key) {
      try {
        key = raw.startsWith('-----BEGIN')
          ? createPublicKey(raw)
          : createPublicKey({ key: Buffer.from(raw, 'base64'), format: 'der', type: 'spki' });
      } catch {
        throw new WebhookVerificationError(
          WebhookRejection.Forged,
          'webhookPublicKey is not a valid public key',
        );
      }
      this.keys.set(raw, key);
    }
    return key;
  }
}

function parseEvent(raw: unknown, i: number): WebhookEvent {
  const bad = (why: string): never => {
    throw new WebhookVerificationError(WebhookRejection.Malformed, `event ${i}: ${why}`);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad('not an object');
  const e = raw as Record<string, unknown>;
  if (typeof e.sg_event_id !== 'string' || !e.sg_event_id) return bad('sg_event_id missing');
  if (typeof e.event !== 'string' || !e.event) return bad('event missing');
  if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp))
    return bad('timestamp must be epoch seconds');
  if (e.email !== undefined && typeof e.email !== 'string') return bad('email must be a string');
  const occurredAt = new Date(e.timestamp * 1000).toISOString();
  const event: WebhookEvent = {
    eventId: e.sg_event_id,
    type: WebhookEventType.Other,
    object: 'contacts',
    ...(typeof e.email === 'string' ? { email: e.email.trim().toLowerCase() } : {}),
    occurredAt,
    partial: true,
    vendorType: e.event,
  };
  if (CONSENT_EVENTS.has(e.event)) {
    event.type = WebhookEventType.Consent;
    event.fields = { emailConsent: 'unsubscribed', unsubscribedAt: occurredAt };
  } else if (e.event === 'dropped') {
    event.type = WebhookEventType.Consent;
    event.fields = { emailDeliverability: 'dropped' };
  } else if (e.event === 'bounce' && e.type !== 'blocked') {
    // A bounce event of type "blocked" is a temporary refusal by the receiving server, not a dead address.
    event.type = WebhookEventType.Consent;
    event.fields = { emailDeliverability: 'bounced' };
  }
  return event;
}
