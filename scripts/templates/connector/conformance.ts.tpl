// What the conformance kit (test/conformance/) needs to check the __Name__ connector: the sandbox, connections,
// vendor-side edits, new records and webhook deliveries. Nothing here is a test; the kit owns the assertions.
import type {
  ConformanceHarness,
  ConformanceProfile,
  WebhookRequest,
  WebhookVariant,
  WriteItem,
} from '../../src/connectors';
import { startSandbox } from './sandbox';

const WEBHOOK_URL = 'https://syncline.example.test/webhooks/__id__/conformance';

export const conformance: ConformanceProfile = {
  connectorId: '__id__',
  async start({ count, seed }): Promise<ConformanceHarness> {
    const sandbox = await startSandbox({ count, seed });
    const connection = {
      // The port keeps each harness's client cache entry (and rate window) its own.
      id: `__id__-conformance-${seed}-${new URL(sandbox.url).port}`,
      connector: '__id__',
      baseUrl: sandbox.url,
      credentials: { ...sandbox.credentials },
      settings: {},
    };
    let edits = 0;
    let created = 0;
    return {
      sandbox,
      connection,
      badCredentials: {
        ...connection,
        id: `${connection.id}-bad`,
        credentials: { ...connection.credentials, apiKey: 'key_revoked' },
      },
      object: 'contacts',
      pageSize: 20,
      recordIds: async () => [...sandbox.store.contacts.keys()],
      async edit(ids, sameTimestamp) {
        const fields = { job_title: `Conformance edit ${++edits}` };
        if (sameTimestamp) sandbox.massUpdate(ids, fields);
        else for (const id of ids) sandbox.mutate(id, fields);
      },
      newRecords(n): WriteItem[] {
        return Array.from({ length: n }, () => {
          const i = ++created;
          return {
            key: `conformance-${seed}-${i}`,
            record: {
              email: `conformance-${seed}-${i}@example.com`,
              first_name: 'Conformance',
              last_name: `Record ${i}`,
              lifecycle_stage: 'lead',
            },
          };
        });
      },
      webhook(variant: WebhookVariant, ids: string[]): WebhookRequest {
        const now = Date.now();
        const body = JSON.stringify({
          events: ids.map((id, i) => ({
            id: `evt_conformance_${now}_${i}`,
            type: 'contact.updated',
            contact_id: id,
            occurred_at: new Date(now - 1_000).toISOString(),
          })),
        });
        // Stale: a genuine signature, ten minutes old (twice the window).
        const ts = String(Math.floor((variant === 'stale' ? now - 10 * 60_000 : now) / 1000));
        const headers = sandbox.sign(body, ts, variant === 'forged' ? 'whsec_not-the-secret' : undefined);
        // Tampered: signed as the vendor would, then changed on the way.
        const sent = variant === 'tampered' ? body.replace('contact.updated', 'contact.deleted') : body;
        return {
          method: 'POST',
          url: WEBHOOK_URL,
          headers: { ...headers, 'content-type': 'application/json' },
          rawBody: Buffer.from(sent, 'utf8'),
          receivedAt: new Date(now),
        };
      },
      close: () => sandbox.close(),
    };
  },
};
