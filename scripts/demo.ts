// `npm run demo`: the README's first command. Everything on one machine with nothing to install: a fresh
// embedded SQLite file, the three vendor sandboxes in-process, the Syncline service on a free port. It seeds
// Salesforce, runs the full Salesforce -> SendGrid + HubSpot sync, edits contacts in Salesforce (their Outbound
// Messages reach the webhook endpoint), unsubscribes one contact in SendGrid, runs the incremental sync, shows
// the audit tail, verifies the audit chain and ends with one `demo: synced N contacts …` line.
// Output never shows a secret or a raw email (masked as a…@example.com).
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditService } from '../src/audit/audit.service';
import { formatAuditEntry } from '../src/cli/audit.command';
import { cliActor, countsTable, maskEmail, seconds } from '../src/cli/cli-output';
import { RunProgressView } from '../src/cli/run-progress';
import { JobQueue } from '../src/queue/job-queue';
import { Database } from '../src/store/database';
import { OutboxService } from '../src/sync/outbox.service';
import { SyncRunner, type RunSummary } from '../src/sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../src/sync/sync.types';
import { startEnvironment, type Environment } from './lib/sandbox-environment';

const SYNC_ID = 'sf-contacts';
const EDITS = 25;

class DemoFailure extends Error {}

interface SfContact {
  Id: string;
  Email?: string | null;
  IsDeleted?: boolean;
  HasOptedOutOfEmail?: boolean;
  attributes?: { type: string };
}

function contactCount(): number {
  const raw = process.env.SYNCLINE_DEMO_CONTACTS ?? '5000';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 50 || n > 100_000)
    throw new DemoFailure(`SYNCLINE_DEMO_CONTACTS must be an integer from 50 to 100000, got "${raw}"`);
  return n;
}

/** A fresh database per demo run, so the demo always starts from nothing and never touches a real install. */
function demoDatabase(): string {
  const dir = process.env.SYNCLINE_DEMO_DATA_DIR ?? 'data';
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return path.join(dir, `demo-${stamp}-${process.pid}.sqlite`);
}

async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new DemoFailure(`${what}: not seen within ${timeoutMs / 1000}s`);
}

const out = (line = '') => process.stdout.write(line + '\n');
const step = (title: string) => out(`\n== ${title}`);

function requireSucceeded(run: RunSummary, what: string): void {
  if (run.status !== RunStatus.Succeeded)
    throw new DemoFailure(`${what} ${run.status}: ${run.errors.join('; ') || 'no error recorded'}`);
}

async function main(): Promise<void> {
  const contacts = contactCount();
  const file = demoDatabase();
  out(`Syncline demo: ${contacts} Salesforce contacts -> SendGrid + HubSpot (database: ${file})`);
  let env: Environment | undefined;
  try {
    env = await startEnvironment({ contacts, env: { DATABASE_URL: `sqlite:${file}`, LOG_LEVEL: 'error' } });
    // The initial load is the scheduled-sync path; Outbound Messages start once it is done, as in a real rollout.
    env.salesforce.webhooks.configure({ enabled: false });
    // HubSpot is only a destination here: its change webhooks would just echo our own writes back.
    env.hubspot.webhooks.configure({ enabled: false });
    const runner = env.app.get(SyncRunner);
    const outbox = env.app.get(OutboxService);
    const queue = env.app.get(JobQueue);
    const db = env.app.get(Database);
    const actor = cliActor();
    out(
      `ready after ${process.uptime().toFixed(1)}s; sandboxes: Salesforce ${env.salesforce.url}, SendGrid ${env.sendgrid.url}, HubSpot ${env.hubspot.url}; service ${env.url}`,
    );

    step('full sync');
    const fullView = new RunProgressView({
      label: 'full',
      expectedRead: contacts,
      pendingOutbound: () => outbox.pendingCount(),
      stream: process.stdout,
    });
    let full: RunSummary;
    try {
      full = await runner.run(SYNC_ID, {
        trigger: RunTrigger.Manual,
        actor,
        onProgress: fullView.onProgress,
      });
    } finally {
      fullView.stop();
    }
    requireSucceeded(full, 'full sync');
    out(
      `full sync ${full.status} in ${seconds(full.durationMs)} (${Math.round(full.counts.read / Math.max(full.durationMs / 1000, 0.001))} records/s)`,
    );
    process.stdout.write(countsTable(full.counts));

    step(
      `edit ${EDITS} contacts in Salesforce; their Outbound Messages go to ${env.url}/webhooks/salesforce`,
    );
    const hubspotEmails = new Set(
      env.hubspot.store.all().map((c) => String(c.props.email ?? '').toLowerCase()),
    );
    const sendgridEmails = new Set(
      (env.sendgrid.state().records as { email?: string }[]).map((c) => String(c.email ?? '').toLowerCase()),
    );
    const sfContacts = (env.salesforce.state().records as SfContact[]).filter(
      (r) => r.attributes?.type === 'Contact' && !r.IsDeleted && r.Email,
    );
    // Contacts that reached both destinations: the edits and the unsubscribe then show on every side.
    const synced = sfContacts.filter(
      (r) => hubspotEmails.has(r.Email!.toLowerCase()) && sendgridEmails.has(r.Email!.toLowerCase()),
    );
    if (synced.length < EDITS + 1)
      throw new DemoFailure(
        `only ${synced.length} contacts reached both destinations; expected at least ${EDITS + 1}`,
      );
    const edited = synced.slice(0, EDITS);
    const unsubscriber = synced[EDITS];
    const inboxBefore = await processedWebhooks(db);
    env.salesforce.webhooks.configure({ enabled: true });
    edited.forEach((c, i) => env!.salesforce.mutate(c.Id, { Title: `Demo Title ${i + 1}` }));
    await env.salesforce.webhooks.flush();
    await queue.idle(30_000);
    await eventually(
      'Salesforce edits applied through the webhook',
      async () => (await processedWebhooks(db)) > inboxBefore,
    );
    await eventually('edited titles at HubSpot', () => {
      const titles = new Map(
        env!.hubspot.store.all().map((c) => [String(c.props.email ?? '').toLowerCase(), c.props.jobtitle]),
      );
      return edited.every((c, i) => titles.get(c.Email!.toLowerCase()) === `Demo Title ${i + 1}`);
    });
    out(
      `${edited.length} contacts edited; e.g. ${edited
        .slice(0, 3)
        .map((c) => `${c.Id} (${maskEmail(c.Email)})`)
        .join(', ')} — applied from the webhook and pushed to HubSpot`,
    );

    step(`SendGrid unsubscribe webhook for ${maskEmail(unsubscriber.Email)}`);
    const webhooksBeforeUnsub = await processedWebhooks(db);
    env.sendgrid.sendEvents([{ event: 'unsubscribe', email: unsubscriber.Email! }]);
    await env.sendgrid.webhooks.flush();
    await queue.idle(30_000);
    await eventually(
      'unsubscribe processed',
      async () => (await processedWebhooks(db)) > webhooksBeforeUnsub,
    );
    await eventually('HasOptedOutOfEmail at Salesforce', () =>
      (env!.salesforce.state().records as SfContact[]).some(
        (r) => r.Id === unsubscriber.Id && r.HasOptedOutOfEmail === true,
      ),
    );
    await eventually('hs_email_optout at HubSpot', () =>
      env!.hubspot.store
        .all()
        .some(
          (c) =>
            String(c.props.email ?? '').toLowerCase() === unsubscriber.Email!.toLowerCase() &&
            c.props.hs_email_optout === 'true',
        ),
    );
    out(
      `Salesforce ${unsubscriber.Id}: HasOptedOutOfEmail = true; HubSpot: hs_email_optout = true; SendGrid pushes for this contact stop`,
    );

    step('incremental sync');
    const incView = new RunProgressView({
      label: 'incremental',
      pendingOutbound: () => outbox.pendingCount(),
      stream: process.stdout,
    });
    let inc: RunSummary;
    try {
      inc = await runner.run(SYNC_ID, { trigger: RunTrigger.Manual, actor, onProgress: incView.onProgress });
    } finally {
      incView.stop();
    }
    requireSucceeded(inc, 'incremental sync');
    out(
      `incremental sync ${inc.status} in ${seconds(inc.durationMs)}: the webhook already applied these changes, so they read back unchanged`,
    );
    process.stdout.write(countsTable(inc.counts));

    step('audit tail');
    for (const e of await env.app.get(AuditService).tail(8)) out(formatAuditEntry(e));
    const report = await env.app.get(AuditService).verify();
    if (!report.ok)
      throw new DemoFailure(
        `audit chain broken at seq ${report.firstBroken?.seq}: ${report.firstBroken?.reason}`,
      );
    out(`audit chain ok: ${report.checked} entries verified`);

    // Destination state, not the run's "sent" count: the service's background sweep also drains the outbox while
    // the run does, and what matters to the reader is what each destination now holds.
    const at = new Map(
      (await db.query('SELECT connection, COUNT(*) AS n FROM destination_state GROUP BY connection')).map(
        (r) => [r.connection as string, Number(r.n)],
      ),
    );
    const applied = (await processedWebhooks(db)) - inboxBefore;
    out();
    out(
      `demo: synced ${full.counts.created} contacts (${full.counts.quarantined} quarantined, ${at.get('sendgrid') ?? 0} sent to SendGrid, ${at.get('hubspot') ?? 0} to HubSpot, ` +
        `${applied} webhook events applied, incremental run read ${inc.counts.read}) in ${process.uptime().toFixed(1)}s (full sync ${seconds(full.durationMs)})`,
    );
  } finally {
    await env?.close();
  }
}

/** Salesforce and SendGrid webhook events processed (each vendor event once, however often it was delivered). */
async function processedWebhooks(db: Database): Promise<number> {
  const rows = await db.query(
    "SELECT COUNT(*) AS n FROM webhook_inbox WHERE status = 'processed' AND connection IN ('salesforce', 'sendgrid')",
  );
  return Number(rows[0].n);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(
      `demo: FAILED: ${err instanceof DemoFailure ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
