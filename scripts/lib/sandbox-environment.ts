// A whole Syncline installation on one machine: the three vendor sandboxes in-process, the service on a free
// port, and syncline config wiring Salesforce -> SendGrid + HubSpot. Used by the demo, the end-to-end tests
// and the benchmarks, so all three exercise exactly the same setup.
import type { NestExpressApplication } from '@nestjs/platform-express';
import { startSandbox as startHubSpot, type HubSpotSandbox } from '../../connectors/hubspot/sandbox';
import { startSandbox as startSalesforce, type SalesforceSandbox } from '../../connectors/salesforce/sandbox';
import { startSandbox as startSendGrid, type SendGridSandbox } from '../../connectors/sendgrid/sandbox';
import { createApp } from '../../src/bootstrap';
import { AppConfig } from '../../src/config/app-config';
import { parseEnv } from '../../src/config/env.schema';
import { synclineConfigSchema, type SyncConfig } from '../../src/config/syncline-config.schema';

export const SF_WEBHOOK_SECRET = 'demo-outbound-message-secret';

export interface EnvironmentOptions {
  /** Environment for the service (DATABASE_URL, LOG_LEVEL…); defaults to a fresh SQLite file. */
  env?: Record<string, string>;
  contacts?: number;
  seed?: number;
  /** Extra syncs beyond the default sf-contacts (Salesforce Contact -> SendGrid + HubSpot). */
  syncs?: unknown[];
  /** Replace the default sync entirely. */
  defaultSync?: Partial<SyncConfig> | false;
  hubspotRateLimit?: { max: number; windowMs?: number };
  sendgridJobDelayMs?: number;
}

export interface Environment {
  salesforce: SalesforceSandbox;
  hubspot: HubSpotSandbox;
  sendgrid: SendGridSandbox;
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  token: string;
  close(): Promise<void>;
}

export const API_TOKEN = 'demo-admin-token';

export async function startEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  const seed = options.seed ?? 42;
  const salesforce = await startSalesforce({ port: 0, seed, count: options.contacts ?? 0 });
  const hubspot = await startHubSpot({
    port: 0,
    seed,
    count: 0,
    rateLimit: options.hubspotRateLimit ?? { max: 0 },
  });
  const sendgrid = await startSendGrid({
    port: 0,
    seed,
    count: 0,
    jobDelayMs: options.sendgridJobDelayMs ?? 20,
  });
  const sf = salesforce.credentials;
  const syncline = synclineConfigSchema.parse({
    connections: [
      {
        id: 'salesforce',
        connector: 'salesforce',
        baseUrl: salesforce.url,
        credentials: {
          instanceUrl: sf.instanceUrl,
          accessToken: sf.accessToken,
          clientId: sf.clientId,
          clientSecret: sf.clientSecret,
          refreshToken: sf.refreshToken,
        },
        settings: { organizationId: sf.organizationId, webhookSecret: SF_WEBHOOK_SECRET },
      },
      {
        id: 'hubspot',
        connector: 'hubspot',
        baseUrl: hubspot.url,
        credentials: {
          accessToken: hubspot.credentials.accessToken,
          clientSecret: hubspot.credentials.clientSecret,
        },
        settings: {},
      },
      {
        id: 'sendgrid',
        connector: 'sendgrid',
        baseUrl: sendgrid.url,
        credentials: {
          apiKey: sendgrid.credentials.apiKey,
          webhookPublicKey: sendgrid.credentials.webhookPublicKey,
        },
        settings: { createCustomFields: true, jobPollIntervalMs: 20 },
      },
    ],
    syncs: [
      ...(options.defaultSync === false
        ? []
        : [
            {
              id: 'sf-contacts',
              source: { connection: 'salesforce', object: 'Contact' },
              destinations: [
                { connection: 'sendgrid', object: 'contacts' },
                { connection: 'hubspot', object: 'contacts' },
              ],
              ...(options.defaultSync ?? {}),
            },
          ]),
      ...(options.syncs ?? []),
    ],
  });
  const env = parseEnv({
    LOG_LEVEL: 'warn',
    SYNCLINE_API_TOKENS: API_TOKEN,
    PORT: '0',
    HOST: '127.0.0.1',
    // The environment's three vendors; a connector folder being generated or removed meanwhile is left alone.
    SYNCLINE_CONNECTORS: 'salesforce,hubspot,sendgrid',
    ...(options.env ?? {}),
  });
  const config = new AppConfig(env, syncline);
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  salesforce.webhooks.configure({
    url: `${url}/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`,
    enabled: true,
  });
  sendgrid.webhooks.configure({ url: `${url}/webhooks/sendgrid`, enabled: true });
  hubspot.webhooks.configure({ url: `${url}/webhooks/hubspot`, enabled: true });
  return {
    salesforce,
    hubspot,
    sendgrid,
    app,
    config,
    url,
    token: API_TOKEN,
    close: async () => {
      await app.close();
      await Promise.allSettled([salesforce.close(), hubspot.close(), sendgrid.close()]);
    },
  };
}
