// Conformance profile: the Salesforce sandbox on loopback, seeded, with the hooks the kit drives.
// Webhook variants (Outbound Messages carry no signature, see salesforce.webhooks.ts):
//   valid    right org, current endpoint token
//   forged   another org's id and a guessed token
//   stale    right org, but the endpoint token is a rotated-out secret (Salesforce's 24 h redelivery makes an
//            old SystemModstamp normal, so age alone never rejects)
//   tampered current token, but the body's OrganizationId was altered after it left Salesforce
import type {
  ConformanceHarness,
  ConformanceProfile,
  ConnectionContext,
  WebhookRequest,
  WebhookVariant,
  WriteItem,
} from '../../src/connectors';
import { buildNotificationsEnvelope, DEFAULT_OUTBOUND_FIELDS } from './sandbox/outbound-messages';
import { API_VERSION, startSandbox, type SalesforceSandbox } from './sandbox';
import { IdFactory, KeyPrefix, makeId } from './sandbox/salesforce-ids';
import { SCHEMAS, SLOT_IS_DELETED } from './sandbox/salesforce-schema';

export const WEBHOOK_SECRET = 'sf-endpoint-token-current';
export const RETIRED_WEBHOOK_SECRET = 'sf-endpoint-token-rotated-2024';
const OBJECT = 'Contact';
/** One id sequence for the process, so every built delivery has its own Notification Id (the inbox key). */
const notificationIds = new IdFactory();

export function connectionFor(sb: SalesforceSandbox, id = 'salesforce-conformance'): ConnectionContext {
  const c = sb.credentials;
  return {
    id,
    connector: 'salesforce',
    baseUrl: sb.url,
    credentials: {
      instanceUrl: c.instanceUrl,
      accessToken: c.accessToken,
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      refreshToken: c.refreshToken,
    },
    settings: {
      organizationId: c.organizationId,
      webhookSecret: WEBHOOK_SECRET,
      previousWebhookSecrets: [RETIRED_WEBHOOK_SECRET],
    },
  };
}

/** An Outbound Message for `ids` as the sandbox would post it, to a receiver URL carrying `token`. */
export function outboundMessage(
  sb: SalesforceSandbox,
  ids: string[],
  opts: { token?: string; organizationId?: string; receivedAt?: Date } = {},
): WebhookRequest {
  const schema = SCHEMAS[OBJECT];
  const notifications = ids.map((id) => {
    const hit = sb.store.locate(id);
    if (!hit) throw new Error(`unknown record ${id}`);
    return { id: notificationIds.next(KeyPrefix.OutboundNotification), row: hit.row.slice() };
  });
  const ctx = {
    organizationId: opts.organizationId ?? sb.credentials.organizationId,
    instanceUrl: sb.url,
    version: API_VERSION,
  };
  const body = buildNotificationsEnvelope(
    ctx,
    makeId(KeyPrefix.OutboundAction, 1),
    schema,
    DEFAULT_OUTBOUND_FIELDS,
    notifications,
  );
  const query = opts.token === undefined ? '' : `?token=${encodeURIComponent(opts.token)}`;
  return {
    method: 'POST',
    url: `https://syncline.example.com/webhooks/salesforce/salesforce-conformance${query}`,
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    rawBody: Buffer.from(body, 'utf8'),
    receivedAt: opts.receivedAt ?? new Date(),
  };
}

export const conformance: ConformanceProfile = {
  connectorId: 'salesforce',
  async start({ count, seed }): Promise<ConformanceHarness> {
    const sandbox = await startSandbox({ seed, count, leadCount: 0 });
    const connection = connectionFor(sandbox);
    const c = sandbox.credentials;
    let newCounter = 0;
    return {
      sandbox,
      connection,
      // A revoked token and no way to refresh it
      badCredentials: {
        ...connection,
        id: 'salesforce-conformance-bad',
        credentials: { instanceUrl: c.instanceUrl, accessToken: `${c.organizationId.slice(0, 15)}!revoked` },
      },
      object: OBJECT,
      async recordIds() {
        return [...sandbox.store.table(OBJECT).byId.values()]
          .filter((row) => row[SLOT_IS_DELETED] === false)
          .map((row) => row[0] as string);
      },
      async edit(ids, sameTimestamp) {
        // Each edit after a one-second tick, or all in one mass update sharing one SystemModstamp.
        sandbox.clock.advance(1_000);
        if (sameTimestamp) {
          sandbox.massUpdate(ids, { Title: `Mass update ${Date.now()}` });
          return;
        }
        for (const [i, id] of ids.entries()) {
          sandbox.clock.advance(1_000);
          sandbox.mutate(id, { Title: `Edited ${i} ${Date.now()}` });
        }
      },
      newRecords(n): WriteItem[] {
        return Array.from({ length: n }, () => {
          const k = ++newCounter;
          return {
            key: `cust-conf-${seed}-${k}`,
            record: {
              FirstName: 'Conformance',
              LastName: `Person ${k}`,
              Email: `conformance.${seed}.${k}@example.com`,
              LeadSource: 'Web',
            },
          };
        });
      },
      webhook(variant: WebhookVariant, ids: string[]): WebhookRequest {
        switch (variant) {
          case 'valid':
            return outboundMessage(sandbox, ids, { token: WEBHOOK_SECRET });
          case 'forged':
            return outboundMessage(sandbox, ids, {
              token: 'guessed-token',
              organizationId: makeId(KeyPrefix.Organization, seed + 1000),
            });
          case 'stale':
            return outboundMessage(sandbox, ids, { token: RETIRED_WEBHOOK_SECRET });
          case 'tampered': {
            const req = outboundMessage(sandbox, ids, { token: WEBHOOK_SECRET });
            const other = makeId(KeyPrefix.Organization, seed + 2000);
            const body = req.rawBody
              .toString('utf8')
              .replace(
                /<OrganizationId>[^<]*<\/OrganizationId>/,
                `<OrganizationId>${other}</OrganizationId>`,
              );
            return { ...req, rawBody: Buffer.from(body, 'utf8') };
          }
        }
      },
      pageSize: 50,
      close: () => sandbox.close(),
    };
  },
};
