// The service with its engine on a thread of its own (what `syncline serve` runs on a SQLite file): webhook
// deliveries are acknowledged by the service thread and processed by the engine thread, both writing one database
// file through the write gate; a connection changed over the API is what the engine uses next; closing ends the
// thread; a dead engine thread is reported so the service can exit and be restarted.
import Sqlite from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { outboundMessage } from '../../connectors/salesforce/conformance';
import { SF_WEBHOOK_SECRET, startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { EngineThreadJobQueue } from '../../src/queue/engine-thread';
import { JobName, JobQueue } from '../../src/queue/job-queue';
import { Database } from '../../src/store/database';
import { WriteGate, writeGates } from '../../src/store/write-gate';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { customerFields } from '../support/customers';

jest.setTimeout(120_000);

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not met in time`);
}

describe('engine thread (SQLite file)', () => {
  let env: Environment;
  let dir: string;
  let queue: EngineThreadJobQueue;
  const q = (sql: string, params: unknown[] = []) => env.app.get(Database).query(sql, params);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-engine-'));
    env = await startEnvironment({
      contacts: 60,
      env: {
        DATABASE_URL: `sqlite:${path.join(dir, 'engine.sqlite')}`,
        LOG_LEVEL: 'silent',
        SYNCLINE_ENGINE_THREAD: 'on',
        // As on a server of 4 cores or more: the engine thread plans duplicate detection on a thread of its own.
        SYNCLINE_DETECTION_THREAD: 'on',
      },
      defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    queue = env.app.get(JobQueue) as EngineThreadJobQueue;
  });
  afterAll(async () => {
    await env?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs jobs on the engine thread: a sync queued by the service thread lands in the shared database', async () => {
    expect(queue).toBeInstanceOf(EngineThreadJobQueue);
    expect(writeGates('main')[0]?.priority).toBe(true);
    await queue.add(JobName.SyncRun, { syncId: 'sf-contacts', trigger: RunTrigger.Manual });
    await queue.idle(60_000);
    const [run] = await q("SELECT status FROM sync_runs WHERE sync_id = 'sf-contacts'");
    expect(run.status).toBe('succeeded');
    const [{ n }] = await q(
      "SELECT COUNT(*) AS n FROM destination_state WHERE connection = 'sendgrid' AND external_id IS NOT NULL",
    );
    expect(Number(n)).toBeGreaterThan(30);
    expect(env.sendgrid.state().records.length).toBe(Number(n));
    // Every customer checked for duplicates (by the detection thread the engine thread started): nothing pending,
    // and every live customer has its block keys.
    expect(Number((await q('SELECT COUNT(*) AS n FROM identity_pending'))[0].n)).toBe(0);
    const [{ bare }] = await q(
      'SELECT COUNT(*) AS bare FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM customer_block_keys k WHERE k.customer_id = c.id)',
    );
    expect(Number(bare)).toBe(0);
  });

  it('acknowledges on the service thread and applies on the engine thread, once per event', async () => {
    const [row] = await q(
      "SELECT i.external_id, i.customer_id FROM customer_identities i JOIN destination_state d ON d.customer_id = i.customer_id AND d.connection = 'sendgrid' WHERE i.connection = 'salesforce' ORDER BY i.external_id LIMIT 1",
    );
    env.salesforce.mutate(row.external_id, { Title: 'Threaded' });
    const delivery = outboundMessage(env.salesforce, [row.external_id], { token: SF_WEBHOOK_SECRET });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(env.url)
          .post(`/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`)
          .set('content-type', 'text/xml; charset=utf-8')
          .send(delivery.rawBody.toString('utf8')),
      ),
    );
    for (const a of answers) expect(a.text).toContain('<Ack>true</Ack>');
    await queue.idle(30_000);
    await eventually(
      async () => (await customerFields(env.app, row.customer_id)).jobTitle === 'Threaded',
      'the change applied',
    );
    const [{ n }] = await q("SELECT COUNT(*) AS n FROM webhook_inbox WHERE status = 'processed'");
    expect(Number(n)).toBe(1);
    const [{ v }] = await q('SELECT COUNT(*) AS v FROM customer_versions WHERE customer_id = ?', [
      row.customer_id,
    ]);
    expect(Number(v)).toBe(2);
  });

  it('acknowledges while an engine transaction holds the database: the inbox is a file of its own', async () => {
    const file = path.join(dir, 'engine.sqlite');
    const raw = new Sqlite(file);
    raw.pragma('busy_timeout = 0');
    // The table lives in the inbox file beside the database, not in the database.
    expect(raw.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'webhook_inbox'").get()).toEqual(
      {
        n: 0,
      },
    );
    const inboxFile = new Sqlite(path.join(dir, 'engine.inbox.sqlite'), { readonly: true });
    expect(
      inboxFile.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'webhook_inbox'").get(),
    ).toEqual({ n: 1 });
    inboxFile.close();
    const [row] = await q(
      "SELECT external_id FROM customer_identities WHERE connection = 'salesforce' ORDER BY external_id LIMIT 1 OFFSET 5",
    );
    env.salesforce.mutate(row.external_id, { Title: 'Held' });
    const delivery = outboundMessage(env.salesforce, [row.external_id], { token: SF_WEBHOOK_SECRET });
    // What an engine transaction on the database holds: the engine side of its gate and SQLite's write lock.
    const engineSide = new WriteGate(writeGates('main')[0].buffer, false, 0);
    await engineSide.acquire();
    raw.exec('BEGIN IMMEDIATE');
    try {
      const answer = await request(env.url)
        .post(`/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`)
        .set('content-type', 'text/xml; charset=utf-8')
        .send(delivery.rawBody.toString('utf8'))
        // Were the acknowledgement waiting for the database, it would wait until the finally below: fail instead.
        .timeout(10_000);
      expect(answer.text).toContain('<Ack>true</Ack>');
      // Acknowledged with the database still held, and stored.
      expect(raw.inTransaction).toBe(true);
      const [{ n }] = await q("SELECT COUNT(*) AS n FROM webhook_inbox WHERE status = 'pending'");
      expect(Number(n)).toBeGreaterThan(0);
    } finally {
      raw.exec('ROLLBACK');
      raw.close();
      engineSide.release();
    }
    // Released, the engine applies it.
    await queue.idle(30_000);
    await eventually(
      async () =>
        Number((await q("SELECT COUNT(*) AS n FROM webhook_inbox WHERE status = 'pending'"))[0].n) === 0,
      'the held delivery processed',
    );
  });

  it('uses a connection changed over the API on its next push (the engine drops its cached copy)', async () => {
    const auth = { authorization: `Bearer ${env.token}` };
    const put = (apiKey: string) =>
      request(env.url)
        .put('/connections/sendgrid')
        .set(auth)
        .send({
          connector: 'sendgrid',
          baseUrl: env.sendgrid.url,
          credentials: { apiKey, webhookPublicKey: env.sendgrid.credentials.webhookPublicKey },
          settings: { createCustomFields: true, jobPollIntervalMs: 20 },
        })
        .expect(200);
    await put('SG.revoked-key');
    const [row] = await q(
      "SELECT i.external_id, i.customer_id FROM customer_identities i JOIN destination_state d ON d.customer_id = i.customer_id AND d.connection = 'sendgrid' WHERE i.connection = 'salesforce' ORDER BY i.external_id DESC LIMIT 1",
    );
    env.salesforce.mutate(row.external_id, { FirstName: 'Rotated' });
    const delivery = outboundMessage(env.salesforce, [row.external_id], { token: SF_WEBHOOK_SECRET });
    await request(env.url)
      .post(`/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`)
      .set('content-type', 'text/xml; charset=utf-8')
      .send(delivery.rawBody.toString('utf8'))
      .expect(200);
    // The engine pushes with the revoked key: SendGrid refuses it, the row waits with the reason.
    await eventually(async () => {
      const [o] = await q(
        "SELECT last_error FROM outbox WHERE connection = 'sendgrid' AND customer_id = ? AND status = 'pending'",
        [row.customer_id],
      );
      return !!o?.last_error && /auth/i.test(String(o.last_error));
    }, 'a push refused for its credentials');
    await put(env.sendgrid.credentials.apiKey);
    // Due now rather than after its back-off.
    await env.app
      .get(Database)
      .transaction((tx) =>
        tx.execute(
          "UPDATE outbox SET next_attempt_at = '1970-01-01T00:00:00.000Z' WHERE connection = 'sendgrid' AND customer_id = ?",
          [row.customer_id],
        ),
      );
    await queue.add(JobName.DrainOutbox, { connection: 'sendgrid', object: 'contacts' });
    const email = String((await customerFields(env.app, row.customer_id)).email);
    await eventually(
      async () =>
        env.sendgrid
          .state()
          .records.some(
            (r) =>
              (r as { email?: string; first_name?: string }).email === email &&
              (r as { first_name?: string }).first_name === 'Rotated',
          ) &&
        (
          await q("SELECT status FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?", [
            row.customer_id,
          ])
        )[0].status === 'sent',
      'the push with the restored key',
    );
  });

  it('runs an API run that waits for its summary on the engine thread too (a second one at once gets 409)', async () => {
    const onService = jest.spyOn(env.app.get(SyncRunner), 'run');
    const auth = { authorization: `Bearer ${env.token}` };
    const [a, b] = await Promise.all(
      [0, 1].map(() => request(env.url).post('/syncs/sf-contacts/runs').set(auth).send({ wait: true })),
    );
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const done = a.status === 200 ? a : b;
    expect(done.body).toMatchObject({ syncId: 'sf-contacts', status: 'succeeded', mode: 'incremental' });
    expect((a.status === 409 ? a : b).body.message).toMatch(/already running/);
    expect(onService).not.toHaveBeenCalled();
    onService.mockRestore();
  });

  (process.platform === 'linux' ? it : it.skip)(
    'lowers the engine thread’s CPU priority only (the service thread keeps its own)',
    () => {
      const nice = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      const threads = fs
        .readdirSync('/proc/self/task')
        .map((t) => nice(fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8')));
      expect(nice(fs.readFileSync('/proc/thread-self/stat', 'utf8'))).toBe(0);
      // The engine thread, and threads it started (its checkpoint thread) inherit it; most of the process does not.
      expect(threads).toContain(10);
      expect(threads.filter((n) => n === 0).length).toBeGreaterThan(threads.length / 2);
    },
  );

  it('ends the thread on close and reports a thread that died on its own, on GET /health too', async () => {
    const health = await request(env.url).get('/health').expect(200);
    expect(health.body.info.queue).toEqual({ status: 'up', adapter: 'engine-thread' });
    // The queue depth of /metrics is the engine thread's own queue, asked across the thread boundary.
    const metrics = await request(env.url)
      .get('/metrics')
      .set('Authorization', `Bearer ${env.token}`)
      .expect(200);
    expect(metrics.text).toMatch(/^syncline_jobs\{job="sync-run",state="waiting"\} 0$/m);
    expect(metrics.text).toMatch(/^syncline_sync_last_success_timestamp_seconds\{sync="sf-contacts"\} \d/m);
    const worker = (queue as unknown as { worker: { threadId: number; terminate(): Promise<number> } })
      .worker;
    expect(worker.threadId).toBeGreaterThan(0);
    const crashed = queue.crashed;
    await worker.terminate();
    expect((await crashed).message).toMatch(/engine thread exited/);
    // Metrics still answer without the thread: the queue reported down, its depth left out.
    const after = await request(env.url)
      .get('/metrics')
      .set('Authorization', `Bearer ${env.token}`)
      .expect(200);
    expect(after.text).toMatch(/^syncline_queue_up\{adapter="engine-thread"\} 0$/m);
    expect(after.text).not.toMatch(/^syncline_jobs\{/m);
    const down = await request(env.url).get('/health').expect(503);
    expect(down.body.error.queue).toEqual({
      status: 'down',
      adapter: 'engine-thread',
      message: 'the engine thread is not running',
    });
  });
});
