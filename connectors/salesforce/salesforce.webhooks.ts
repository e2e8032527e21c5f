// Salesforce Outbound Messages: a SOAP `notifications` envelope per delivery, acknowledged with
// notificationsResponse/Ack=true (anything else and Salesforce retries for up to 24 hours).
//
// Outbound Messages carry NO signature. What we can check:
//  - OrganizationId must be the connected org (settings.organizationId); a different org is a forgery.
//  - Optionally a shared secret the admin puts in the endpoint URL (?token=…), configured as
//    settings.webhookSecret and compared in constant time. settings.previousWebhookSecrets lists rotated-out
//    secrets: a delivery still carrying one was queued before the rotation and is answered as `stale`.
// There is no timestamp window: Salesforce legitimately redelivers for 24 hours, so an old SystemModstamp is
// normal, and the Notification Id (our inbox key) makes redeliveries no-ops. `stale` therefore means "signed
// with a retired secret", never "too old".
import { createHash, timingSafeEqual } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  type ConnectionContext,
  type WebhookAck,
  type WebhookEvent,
  WebhookEventType,
  type WebhookHandler,
  WebhookRejection,
  type WebhookRequest,
  WebhookVerificationError,
} from '../../src/connectors';
import type { MappingRegistry } from '../../src/mapping';

export const OUTBOUND_NAMESPACE = 'http://soap.sforce.com/2005/09/outbound';
export const DEFAULT_TOKEN_PARAM = 'token';

export const SOAP_ACK =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
  `<soapenv:Body><notificationsResponse xmlns="${OUTBOUND_NAMESPACE}"><Ack>true</Ack></notificationsResponse></soapenv:Body>` +
  '</soapenv:Envelope>';

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
  isArray: (_name, jpath) => jpath === 'Envelope.Body.notifications.Notification',
});

interface ParsedNotification {
  Id?: unknown;
  sObject?: Record<string, unknown>;
}

export interface ParsedOutboundMessage {
  organizationId: string;
  actionId?: string;
  notifications: Array<{ id: string; object: string; fields: Record<string, unknown> }>;
}

/** Hashing first gives equal-length buffers, so timingSafeEqual never leaks the secret's length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Salesforce ids are 15 (case-sensitive) or 18 characters; the first 15 identify the record. */
function sameOrg(a: string, b: string): boolean {
  return a.length >= 15 && b.length >= 15 && constantTimeEqual(a.slice(0, 15), b.slice(0, 15));
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object' && '#text' in v) return text((v as Record<string, unknown>)['#text']);
  return undefined;
}

/** xsd:boolean fields arrive as text; boolean field names start with Is or Has. */
function fieldValue(name: string, v: unknown): unknown {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o['@_nil'] === 'true') return null;
    return text(o) ?? null;
  }
  const s = text(v) ?? null;
  if (s !== null && /^(Is|Has)[A-Z]/.test(name) && (s === 'true' || s === 'false')) return s === 'true';
  return s;
}

export function parseOutboundMessage(rawBody: Buffer): ParsedOutboundMessage {
  const xml = rawBody.toString('utf8');
  if (!xml.trim() || XMLValidator.validate(xml) !== true) {
    throw new WebhookVerificationError(WebhookRejection.Malformed, 'body is not well-formed XML');
  }
  let doc: Record<string, any>;
  try {
    doc = parser.parse(xml) as Record<string, any>;
  } catch {
    throw new WebhookVerificationError(WebhookRejection.Malformed, 'body is not well-formed XML');
  }
  const n = doc?.Envelope?.Body?.notifications as Record<string, unknown> | undefined;
  const organizationId = text(n?.OrganizationId);
  if (!n || !organizationId)
    throw new WebhookVerificationError(
      WebhookRejection.Malformed,
      'not a Salesforce Outbound Message (no notifications/OrganizationId)',
    );
  const list = (n.Notification as ParsedNotification[] | undefined) ?? [];
  const notifications = list.map((item) => {
    const id = text(item?.Id);
    const so = item?.sObject;
    if (!id || !so || typeof so !== 'object')
      throw new WebhookVerificationError(WebhookRejection.Malformed, 'Notification without Id or sObject');
    const type = text(so['@_type'])?.replace(/^.*:/, '');
    if (!type) throw new WebhookVerificationError(WebhookRejection.Malformed, 'sObject without xsi:type');
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(so)) if (!k.startsWith('@_')) fields[k] = fieldValue(k, v);
    return { id, object: type, fields };
  });
  return { organizationId, actionId: text(n.ActionId), notifications };
}

export class SalesforceWebhooks implements WebhookHandler {
  constructor(private readonly mappings: MappingRegistry) {}

  verify(connection: ConnectionContext, request: WebhookRequest): void {
    const secret = connection.settings.webhookSecret;
    if (typeof secret === 'string' && secret.length > 0) {
      const param =
        typeof connection.settings.webhookTokenParam === 'string'
          ? connection.settings.webhookTokenParam
          : DEFAULT_TOKEN_PARAM;
      const token = tokenFrom(request.url, param);
      if (token === undefined)
        throw new WebhookVerificationError(WebhookRejection.Forged, `missing ${param} in the endpoint URL`);
      if (!constantTimeEqual(token, secret)) {
        const retired = Array.isArray(connection.settings.previousWebhookSecrets)
          ? connection.settings.previousWebhookSecrets
          : [];
        // Check every retired secret (no early exit) so timing does not tell which one matched.
        const wasValid = retired.reduce<boolean>(
          (hit, old) => (typeof old === 'string' && constantTimeEqual(token, old)) || hit,
          false,
        );
        if (wasValid)
          throw new WebhookVerificationError(
            WebhookRejection.Stale,
            'endpoint token is a rotated-out secret',
          );
        throw new WebhookVerificationError(WebhookRejection.Forged, 'endpoint token does not match');
      }
    }
    const message = parseOutboundMessage(request.rawBody);
    const expected = connection.settings.organizationId;
    if (typeof expected !== 'string' || !expected) {
      // Without an org id there is nothing to check a signature-less message against: refuse it.
      throw new WebhookVerificationError(
        WebhookRejection.Forged,
        'connection has no settings.organizationId to verify against',
      );
    }
    if (!sameOrg(message.organizationId, expected)) {
      throw new WebhookVerificationError(WebhookRejection.Forged, 'OrganizationId is not the connected org');
    }
  }

  parse(_connection: ConnectionContext, request: WebhookRequest): WebhookEvent[] {
    const message = parseOutboundMessage(request.rawBody);
    return message.notifications.map((n) => {
      const stamp = n.fields.SystemModstamp ?? n.fields.LastModifiedDate;
      const occurredAt =
        typeof stamp === 'string' && !Number.isNaN(Date.parse(stamp))
          ? new Date(stamp).toISOString()
          : request.receivedAt.toISOString();
      const email = typeof n.fields.Email === 'string' ? n.fields.Email : undefined;
      return {
        eventId: n.id,
        type: WebhookEventType.Upsert,
        object: n.object,
        externalId: typeof n.fields.Id === 'string' ? n.fields.Id : undefined,
        email,
        occurredAt,
        record: n.fields,
        // Outbound Messages send only the configured fields and leave out nulls: complete only if every mapped one came.
        partial: !this.hasEveryMappedField(n.object, n.fields),
        vendorType: 'OutboundMessage',
      };
    });
  }

  ack(): WebhookAck {
    return { status: 200, contentType: 'text/xml; charset=utf-8', body: SOAP_ACK };
  }

  private hasEveryMappedField(object: string, fields: Record<string, unknown>): boolean {
    const mapping = this.mappings.find('salesforce', object);
    if (!mapping) return false;
    const present = new Set(Object.keys(fields).map((k) => k.toLowerCase()));
    return mapping.inbound.every((rule) => rule.sources.every((s) => present.has(s.toLowerCase())));
  }
}

function tokenFrom(url: string, param: string): string | undefined {
  try {
    return new URL(url, 'http://localhost').searchParams.get(param) ?? undefined;
  } catch {
    return undefined;
  }
}
