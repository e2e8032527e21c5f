// What the conformance kit needs to run its suite over the HubSpot connector: the sandbox, connections and the
// vendor-side edits, new records and webhook deliveries it checks the connector against.
import type {
  ConformanceHarness,
  ConformanceProfile,
  WebhookRequest,
  WebhookVariant,
  WriteItem,
} from '../../src/connectors';
import { signedWebhookHeaders, startSandbox, SubscriptionType, type HubSpotSandbox } from './sandbox';

/** Where the kit pretends HubSpot delivers webhooks; v2/v3 sign this URL, so it only has to be consistent. */
export const CONFORMANCE_WEBHOOK_URL = 'https://syncline.example.test/webhooks/hubspot/conformance';
/**
 * The kit reads thousands of records in small pages; HubSpot's default 100 requests per 10 s would make that a
 * minute of waiting. The sandbox and the connection are both raised, so the connector's limiter still leads.
 */
const CONFORMANCE_BUDGET = { requests: 1_000, perMs: 10_000 };

export function webhookDelivery(
  sandbox: HubSpotSandbox,
  variant: WebhookVariant,
  ids: string[],
  opts: { url?: string; now?: number; eventIdBase?: number } = {},
): WebhookRequest {
  const url = opts.url ?? CONFORMANCE_WEBHOOK_URL;
  const now = opts.now ?? Date.now();
  const base = opts.eventIdBase ?? now;
  const { portalId, appId, clientSecret } = sandbox.credentials;
  const body = JSON.stringify(
    ids.map((id, i) => ({
      eventId: base + i,
      subscriptionId: 1100,
      portalId: Number(portalId),
      appId: Number(appId),
      occurredAt: now - 1_000,
      subscriptionType: SubscriptionType.ContactPropertyChange,
      attemptNumber: 0,
      objectId: Number(id),
      changeSource: 'CRM_UI',
      propertyName: 'jobtitle',
      propertyValue: `Edited ${i}`,
    })),
  );
  const headers = signedWebhookHeaders({
    clientSecret: variant === 'forged' ? 'not-the-client-secret' : clientSecret,
    url,
    body,
    // Ten minutes old: twice HubSpot's five-minute window.
    timestamp: variant === 'stale' ? now - 10 * 60 * 1000 : now,
    legacyVersion: 'none',
  });
  // Tampered: signed as HubSpot would, then the body is changed on the way.
  const sent = variant === 'tampered' ? body.replace(/Edited /g, 'Hacked ') : body;
  return {
    method: 'POST',
    url,
    headers: { ...headers, 'content-type': 'application/json' },
    rawBody: Buffer.from(sent, 'utf8'),
    receivedAt: new Date(now),
  };
}

export const conformance: ConformanceProfile = {
  connectorId: 'hubspot',
  async start({ count, seed }): Promise<ConformanceHarness> {
    const sandbox = await startSandbox({ count, seed, rateLimit: { max: CONFORMANCE_BUDGET.requests } });
    let edits = 0;
    let created = 0;
    const settings = { rateBudget: CONFORMANCE_BUDGET };
    return {
      sandbox,
      object: 'contacts',
      pageSize: 50,
      connection: {
        id: `hubspot-conformance-${seed}`,
        connector: 'hubspot',
        baseUrl: sandbox.url,
        credentials: { ...sandbox.credentials },
        settings,
      },
      badCredentials: {
        id: `hubspot-conformance-${seed}-bad`,
        connector: 'hubspot',
        baseUrl: sandbox.url,
        credentials: { ...sandbox.credentials, accessToken: 'pat-na1-revoked-0000-4000-8000-000000000000' },
        settings,
      },
      async recordIds() {
        return sandbox.store
          .all()
          .filter((r) => !r.archivedAt)
          .map((r) => String(r.id));
      },
      async edit(ids, sameTimestamp) {
        edits++;
        // A value that differs every round, so each edit is a real change (and a webhook) as well.
        const fields = { jobtitle: `Conformance edit ${edits}` };
        if (sameTimestamp) sandbox.massUpdate(ids, fields);
        else for (const id of ids) sandbox.mutate(id, fields);
      },
      newRecords(n): WriteItem[] {
        return Array.from({ length: n }, () => {
          const i = ++created;
          return {
            key: `conformance-${seed}-${i}`,
            record: {
              properties: {
                email: `conformance-${seed}-${i}@example.com`,
                firstname: 'Conformance',
                lastname: `Record ${i}`,
                lifecyclestage: 'lead',
              },
            },
          };
        });
      },
      webhook: (variant, ids) => webhookDelivery(sandbox, variant, ids),
      close: () => sandbox.close(),
    };
  },
};
