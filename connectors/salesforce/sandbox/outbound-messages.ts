/**
 * Outbound Messages as Salesforce sends them: a SOAP 1.1 `notifications` envelope with up to 100
 * Notification elements, posted when records change and retried until the listener answers with
 * notificationsResponse/Ack = true. Building and batching live here; delivery and retries are the kit's
 * WebhookDispatcher.
 */
import { XMLParser } from 'fast-xml-parser';
import type { WebhookDispatcher } from '../../../src/sandbox/webhooks';
import { formatXsdDateTime } from './salesforce-clock';
import { IdFactory, KeyPrefix } from './salesforce-ids';
import { FieldDef, ObjectSchema, Row, SCHEMAS, SObjectName, Value } from './salesforce-schema';

export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
export const MAX_NOTIFICATIONS_PER_MESSAGE = 100;

/** Salesforce retries for 24 hours with growing gaps; scaled down so tests see several attempts quickly. */
export const OUTBOUND_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1600, 3200];

export interface OutboundMessageConfig {
  /** Objects whose changes are sent (one outbound message action each). Default Contact only. */
  objects: SObjectName[];
  /** Fields sent per object; Id is always included. */
  fields: Partial<Record<SObjectName, string[]>>;
  /** Whether the session id is sent (Salesforce's "Send Session ID" checkbox). */
  sendSessionId: boolean;
}

export const DEFAULT_OUTBOUND_FIELDS = [
  'Id',
  'FirstName',
  'LastName',
  'Email',
  'Phone',
  'MobilePhone',
  'Title',
  'HasOptedOutOfEmail',
  'Syncline_Id__c',
  'IsDeleted',
  'LastModifiedDate',
  'SystemModstamp',
];

const xmlEscape = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );

function xmlValue(v: Value, type: string): string {
  if (type === 'datetime') return formatXsdDateTime(v as number);
  return xmlEscape(String(v));
}

export interface OutboundContext {
  organizationId: string;
  instanceUrl: string;
  version: string;
  sessionId?: string;
}

/** Renders one envelope; the field list is filtered to fields the object actually has. */
export function buildNotificationsEnvelope(
  ctx: OutboundContext,
  actionId: string,
  schema: ObjectSchema,
  fieldNames: string[],
  notifications: Array<{ id: string; row: Row }>,
): string {
  const fields = fieldNames
    .map((n) => schema.byLowerName.get(n.toLowerCase()))
    .filter((f): f is FieldDef => f !== undefined && f.slot >= 0);
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '<soapenv:Body>',
    `<notifications xmlns="${OUTBOUND_NS}">`,
    `<OrganizationId>${ctx.organizationId}</OrganizationId>`,
    `<ActionId>${actionId}</ActionId>`,
    ctx.sessionId ? `<SessionId>${xmlEscape(ctx.sessionId)}</SessionId>` : '<SessionId xsi:nil="true"/>',
    `<EnterpriseUrl>${xmlEscape(`${ctx.instanceUrl}/services/Soap/c/${ctx.version}/${ctx.organizationId}`)}</EnterpriseUrl>`,
    `<PartnerUrl>${xmlEscape(`${ctx.instanceUrl}/services/Soap/u/${ctx.version}/${ctx.organizationId}`)}</PartnerUrl>`,
  ];
  for (const n of notifications) {
    out.push(
      '<Notification>',
      `<Id>${n.id}</Id>`,
      `<sObject xsi:type="sf:${schema.name}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">`,
    );
    for (const f of fields) {
      const v = n.row[f.slot];
      // Salesforce leaves null fields out of the sObject element
      if (v !== null && v !== undefined) out.push(`<sf:${f.name}>${xmlValue(v, f.type)}</sf:${f.name}>`);
    }
    out.push('</sObject>', '</Notification>');
  }
  out.push('</notifications>', '</soapenv:Body>', '</soapenv:Envelope>');
  return out.join('');
}

const ackParser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false });

/** Only a SOAP notificationsResponse with Ack true counts; anything else (even a 200) is retried. */
export function isOutboundAck(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    const doc = ackParser.parse(body) as Record<string, any>;
    const ack = doc?.Envelope?.Body?.notificationsResponse?.Ack;
    return String(ack).trim().toLowerCase() === 'true';
  } catch {
    return false;
  }
}

/** Collects changes made in one tick and posts them as messages of at most 100 notifications per object. */
export class OutboundMessenger {
  private pending = new Map<SObjectName, Row[]>();
  private scheduled = false;
  private readonly ids = new IdFactory();
  private readonly actionIds: Record<SObjectName, string>;
  config: OutboundMessageConfig = { objects: ['Contact'], fields: {}, sendSessionId: false };

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly context: () => OutboundContext,
  ) {
    this.actionIds = {
      Contact: this.ids.next(KeyPrefix.OutboundAction),
      Lead: this.ids.next(KeyPrefix.OutboundAction),
    };
  }

  enqueue(object: SObjectName, row: Row): void {
    if (!this.config.objects.includes(object)) return;
    // Salesforce sends no message when nobody listens; skip the work too.
    const cfg = this.dispatcher.config;
    if (!cfg.enabled || !cfg.url) return;
    const list = this.pending.get(object) ?? [];
    if (!list.includes(row)) list.push(row);
    this.pending.set(object, list);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.release());
    }
  }

  reset(): void {
    this.pending.clear();
  }

  private release(): void {
    this.scheduled = false;
    const ctx = this.context();
    for (const [object, rows] of this.pending) {
      const schema = SCHEMAS[object];
      const fields = this.config.fields[object] ?? DEFAULT_OUTBOUND_FIELDS;
      for (let i = 0; i < rows.length; i += MAX_NOTIFICATIONS_PER_MESSAGE) {
        // Field values are captured now: a retry resends the same snapshot, as Salesforce queues it.
        const notifications = rows
          .slice(i, i + MAX_NOTIFICATIONS_PER_MESSAGE)
          .map((row) => ({ id: this.ids.next(KeyPrefix.OutboundNotification), row: row.slice() }));
        const body = buildNotificationsEnvelope(ctx, this.actionIds[object], schema, fields, notifications);
        this.dispatcher.send({
          id: notifications[0].id,
          body,
          contentType: 'text/xml; charset=utf-8',
          headers: { SOAPAction: '""', 'User-Agent': 'Jakarta Commons-HttpClient/3.1' },
        });
      }
    }
    this.pending.clear();
  }
}
