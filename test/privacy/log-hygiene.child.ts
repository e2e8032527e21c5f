// Child process of log-hygiene.db.spec.ts: the demo's flow (full sync, Salesforce edits through Outbound
// Messages, a SendGrid unsubscribe, an incremental sync) plus an erasure and vendor failures, with LOG_LEVEL=debug,
// so every log line the service writes goes to this process's stdout/stderr. At the end it writes what must never
// appear in those logs (seeded emails, every credential, the webhook secret) to LOG_HYGIENE_NEEDLES.
import 'reflect-metadata';
import * as fs from 'node:fs';
import { SF_WEBHOOK_SECRET, startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { ActorType } from '../../src/audit/audit.types';
import { JobQueue } from '../../src/queue/job-queue';
import { ErasureService } from '../../src/privacy/erasure.service';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';

interface SfContact {
  Id: string;
  Email?: string | null;
  IsDeleted?: boolean;
  attributes?: { type: string };
}

async function main(): Promise<void> {
  const contacts = Number(process.env.LOG_HYGIENE_CONTACTS ?? '150');
  const needlesFile = process.env.LOG_HYGIENE_NEEDLES!;
  const dbFile = process.env.LOG_HYGIENE_DB!;
  let env: Environment | undefined;
  try {
    env = await startEnvironment({
      contacts,
      env: { DATABASE_URL: `sqlite:${dbFile}`, LOG_LEVEL: 'debug', ERASURE_SWEEP_MS: '0' },
    });
    const seeded = (env.salesforce.state().records as Record<string, unknown>[])
      .flatMap((r) => [r.Email])
      .filter((e): e is string => typeof e === 'string');
    env.salesforce.webhooks.configure({ enabled: false });
    env.hubspot.webhooks.configure({ enabled: false });
    const runner = env.app.get(SyncRunner);
    const queue = env.app.get(JobQueue);
    const actor = { type: ActorType.Cli, id: 'log-hygiene' };

    // Vendor trouble during the full sync: warn/error paths run with real vendor error bodies.
    env.hubspot.faults.configure({ rate5xx: 0.2 });
    env.sendgrid.faults.configure({ rate5xx: 0.2 });
    await runner.run('sf-contacts', { trigger: RunTrigger.Manual, actor });
    env.hubspot.faults.reset();
    env.sendgrid.faults.reset();

    const sfContacts = (env.salesforce.state().records as SfContact[]).filter(
      (r) => r.attributes?.type === 'Contact' && !r.IsDeleted && r.Email,
    );
    env.salesforce.webhooks.configure({ enabled: true });
    sfContacts.slice(0, 10).forEach((c, i) => env!.salesforce.mutate(c.Id, { Title: `Log Title ${i + 1}` }));
    await env.salesforce.webhooks.flush();
    env.sendgrid.sendEvents([{ event: 'unsubscribe', email: sfContacts[11].Email! }]);
    await env.sendgrid.webhooks.flush();
    await queue.idle(30_000);

    // A forged webhook and an expired Salesforce session.
    await fetch(`${env.url}/webhooks/salesforce?token=wrong-${SF_WEBHOOK_SECRET}`, {
      method: 'POST',
      body: '<x/>',
      headers: { 'content-type': 'text/xml' },
    });
    env.salesforce.expireSessions();
    await runner.run('sf-contacts', { trigger: RunTrigger.Manual, actor });

    // An erasure while HubSpot is down, finished once it is back.
    const db = env.app.get(Database);
    const [pick] = await db.query(
      'SELECT customer_id FROM customer_identities GROUP BY customer_id HAVING COUNT(DISTINCT connection) = 3 ORDER BY customer_id LIMIT 1',
    );
    const erasure = env.app.get(ErasureService);
    env.hubspot.faults.configure({ outageUntil: Date.now() + 60_000 });
    if (pick) await erasure.request(pick.customer_id as string, actor);
    await erasure.processDue({ ignoreSchedule: true });
    env.hubspot.faults.reset();
    await erasure.processDue({ ignoreSchedule: true });
    await queue.idle(30_000);

    const sf = env.salesforce.credentials;
    const secrets = [
      sf.accessToken,
      sf.clientSecret,
      sf.refreshToken,
      env.hubspot.credentials.accessToken,
      env.hubspot.credentials.clientSecret,
      env.sendgrid.credentials.apiKey,
      env.token,
      SF_WEBHOOK_SECRET,
    ];
    fs.writeFileSync(needlesFile, JSON.stringify({ emails: seeded, secrets }));
  } finally {
    await env?.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`log-hygiene child failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
