// GET /metrics over real HTTP on the real app, after real runs against the sandboxes: the backlog figures match what
// the database holds, and each sync's health follows its runs.
import request from 'supertest';
import { outboundMessage } from '../../connectors/salesforce/conformance';
import { SF_WEBHOOK_SECRET, startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { renderMetrics } from '../../src/queue/metrics.service';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

/** The samples of an exposition, by name and label set as written: `name{a="b"}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe(`GET /metrics (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0].n);
  const scrape = async () => {
    const res = await request(env.url)
      .get('/metrics')
      .set('Authorization', `Bearer ${env.token}`)
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return { text: res.text, samples: parse(res.text) };
  };

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 40,
      env: {
        ...testDatabaseEnv(target),
        LOG_LEVEL: 'silent',
        // Nothing works on its own here: what is queued stays queued, so the backlog is what the test made.
        SYNCLINE_BACKGROUND_JOBS: 'off',
      },
      defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    db = env.app.get(Database);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('needs an API token', async () => {
    await request(env.url).get('/metrics').expect(401);
  });

  it('reports a sync that never ran, and every job name of the queue', async () => {
    const { samples, text } = await scrape();
    expect(samples.get('syncline_sync_running{sync="sf-contacts"}')).toBe(0);
    expect(samples.get('syncline_sync_paused{sync="sf-contacts"}')).toBe(0);
    expect(samples.get('syncline_queue_up{adapter="in-process"}')).toBe(1);
    expect(text).not.toContain('syncline_sync_last_success_timestamp_seconds{');
    for (const job of ['sync-run', 'process-inbox', 'drain-outbox', 'detect-duplicates', 'apply-page'])
      for (const state of ['waiting', 'active', 'delayed'])
        expect(samples.get(`syncline_jobs{job="${job}",state="${state}"}`)).toBe(0);
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
  });

  it('counts what waits for an unreachable destination, how overdue it is, and what sits in quarantine', async () => {
    env.sendgrid.faults.configure({ outageUntil: Date.now() + 10 * 60_000 });
    const before = Date.now() / 1000;
    const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(run.status).toBe('succeeded');
    const pending = await count(
      "SELECT COUNT(*) AS n FROM outbox WHERE connection = 'sendgrid' AND object = 'contacts' AND status = 'pending'",
    );
    expect(pending).toBeGreaterThan(10);
    const quarantined = await count("SELECT COUNT(*) AS n FROM quarantine WHERE status = 'open'");
    expect(quarantined).toBe(run.counts.quarantined);
    expect(quarantined).toBeGreaterThan(0);
    let { samples } = await scrape();
    expect(
      samples.get('syncline_outbox_rows{connection="sendgrid",object="contacts",status="pending"}'),
    ).toBe(pending);
    // Retried after a back-off: not due yet.
    expect(samples.get('syncline_outbox_due_lag_seconds{connection="sendgrid",object="contacts"}')).toBe(0);
    expect(samples.get('syncline_quarantine_open{connection="salesforce",object="Contact"}')).toBe(
      quarantined,
    );
    expect(samples.get('syncline_identity_pending_customers')).toBe(
      await count('SELECT COUNT(DISTINCT customer_id) AS n FROM identity_pending'),
    );
    expect(samples.get('syncline_merge_candidates_pending')).toBe(
      await count("SELECT COUNT(*) AS n FROM merge_candidates WHERE status = 'pending'"),
    );
    const success = samples.get('syncline_sync_last_success_timestamp_seconds{sync="sf-contacts"}')!;
    expect(success).toBeGreaterThanOrEqual(Math.floor(before));
    expect(success).toBeLessThanOrEqual(Date.now() / 1000);
    expect(samples.get('syncline_sync_last_run_failed{sync="sf-contacts"}')).toBe(0);

    // Two minutes overdue: what a stalled cluster (no worker draining) looks like.
    await db.transaction((tx) =>
      tx.execute(
        "UPDATE outbox SET next_attempt_at = ? WHERE connection = 'sendgrid' AND status = 'pending'",
        [new Date(Date.now() - 120_000).toISOString()],
      ),
    );
    ({ samples } = await scrape());
    const lag = samples.get('syncline_outbox_due_lag_seconds{connection="sendgrid",object="contacts"}')!;
    expect(lag).toBeGreaterThanOrEqual(120);
    expect(lag).toBeLessThan(180);
    env.sendgrid.faults.reset();
  });

  it('counts acknowledged webhook events waiting to be applied, and their job', async () => {
    const [row] = await db.query<{ external_id: string }>(
      "SELECT external_id FROM customer_identities WHERE connection = 'salesforce' ORDER BY external_id LIMIT 1",
    );
    env.salesforce.mutate(row.external_id, { Title: 'Metered' });
    const delivery = outboundMessage(env.salesforce, [row.external_id], { token: SF_WEBHOOK_SECRET });
    const ack = await request(env.url)
      .post(`/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`)
      .set('content-type', 'text/xml; charset=utf-8')
      .send(delivery.rawBody.toString('utf8'))
      .expect(200);
    expect(ack.text).toContain('<Ack>true</Ack>');
    const { samples } = await scrape();
    expect(samples.get('syncline_webhook_events_pending{connection="salesforce"}')).toBe(1);
    expect(samples.get('syncline_jobs{job="process-inbox",state="waiting"}')).toBe(1);
  });

  it('says when the latest run failed, keeping the time of the last success', async () => {
    const { samples: earlier } = await scrape();
    env.salesforce.faults.configure({ outageUntil: Date.now() + 10 * 60_000 });
    try {
      const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
      expect(run.status).toBe('failed');
    } finally {
      env.salesforce.faults.reset();
    }
    const { samples } = await scrape();
    expect(samples.get('syncline_sync_last_run_failed{sync="sf-contacts"}')).toBe(1);
    expect(samples.get('syncline_sync_last_success_timestamp_seconds{sync="sf-contacts"}')).toBe(
      earlier.get('syncline_sync_last_success_timestamp_seconds{sync="sf-contacts"}'),
    );
    expect(samples.get('syncline_sync_running{sync="sf-contacts"}')).toBe(0);
  });

  it('escapes label values as the exposition format requires', () => {
    expect(
      renderMetrics([
        { name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { sync: 'a"b\\c\nd' }, value: 1 }] },
      ]),
    ).toBe('# HELP m h\n# TYPE m gauge\nm{sync="a\\"b\\\\c\\nd"} 1\n');
  });
});
