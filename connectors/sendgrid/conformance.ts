// Conformance profile: the kit in test/conformance/ drives the connector against a seeded SendGrid sandbox
// with nothing SendGrid-specific of its own.
import { generateKeyPairSync } from 'node:crypto';
import type {
  ConformanceHarness,
  ConformanceProfile,
  WebhookRequest,
  WebhookVariant,
  WriteItem,
} from '../../src/connectors';
import { startSandbox } from './sandbox';
import { buildEvent, signEventPayload, type EventSpec } from './sandbox/sendgrid-events';

export const conformance: ConformanceProfile = {
  connectorId: 'sendgrid',
  async start({ count, seed }): Promise<ConformanceHarness> {
    // Short job delay and poll interval: jobs stay asynchronous but the kit does not wait seconds per write.
    const sandbox = await startSandbox({ count, seed, jobDelayMs: 20 });
    const settings = { jobPollIntervalMs: 20, maxContactsPerRequest: 25, createCustomFields: true };
    const connection = {
      id: `sendgrid-conformance-${seed}-${sandbox.url}`,
      connector: 'sendgrid',
      baseUrl: sandbox.url,
      credentials: {
        apiKey: sandbox.credentials.apiKey,
        webhookPublicKey: sandbox.credentials.webhookPublicKey,
      },
      settings,
    };
    const badCredentials = {
      ...connection,
      id: `${connection.id}-bad`,
      credentials: { ...connection.credentials, apiKey: 'SG.rejected-by-sandbox' },
    };
    // A key SendGrid never issued signs the forged variant.
    const { privateKey: forger } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

    const emailsOf = (ids: string[]): string[] =>
      ids.map((id, i) => sandbox.store.contacts.get(id)?.text.email ?? `unknown-${i}@example.com`);

    return {
      sandbox,
      connection,
      badCredentials,
      object: 'contacts',
      recordIds: async () => [...sandbox.store.contacts.keys()],
      edit: async (ids, sameTimestamp) => {
        if (sameTimestamp) sandbox.massUpdate(ids, { city: `Mass ${seed}` });
        else for (const id of ids) sandbox.mutate(id, { city: `Edited ${id.slice(0, 8)}` });
      },
      newRecords: (n): WriteItem[] =>
        Array.from({ length: n }, (_, i) => ({
          key: `conformance-${seed}-${i}`,
          record: {
            email: `conformance-${seed}-${i}@example.com`,
            first_name: 'Conformance',
            last_name: `Record ${i}`,
            custom_fields: { lifecycle_stage: 'lead' },
          },
        })),
      webhook: (variant: WebhookVariant, ids: string[]): WebhookRequest => {
        const events: EventSpec[] = emailsOf(ids).map((email, i) => ({
          email,
          event: i % 2 ? 'delivered' : 'unsubscribe',
        }));
        const body = JSON.stringify(events.map(buildEvent));
        const now = Math.floor(Date.now() / 1000);
        let headers: Record<string, string>;
        let raw = body;
        switch (variant) {
          case 'valid':
            headers = sandbox.sign(body, String(now));
            break;
          case 'forged':
            headers = signEventPayload(forger, String(now), body);
            break;
          case 'stale':
            headers = sandbox.sign(body, String(now - 3600)); // genuine signature, an hour old
            break;
          case 'tampered':
            headers = sandbox.sign(body, String(now));
            raw = body.replace(/"event":"(unsubscribe|delivered)"/, '"event":"open"');
            if (raw === body) raw = `${body} `; // no events to alter: any changed byte must still break it
            break;
        }
        return {
          method: 'POST',
          url: 'https://syncline.example/webhooks/sendgrid',
          headers: { 'content-type': 'application/json', ...headers },
          rawBody: Buffer.from(raw),
          receivedAt: new Date(),
        };
      },
      pageSize: 7,
      close: () => sandbox.close(),
    };
  },
};
