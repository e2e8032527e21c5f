// Scale-out on the real Redis + PostgreSQL: three `scripts/worker.ts` processes share one BullMQ prefix and one
// fresh PostgreSQL schema; the vendor sandboxes run in this process on loopback ports. One suite, run in order,
// because the last test restarts Redis. Without REDIS_URL it is a single passing test that says it was skipped.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { DataSource } from 'typeorm';
import { startSandbox as startHubSpot, type HubSpotSandbox } from '../../connectors/hubspot/sandbox';
import { startSandbox as startSalesforce, type SalesforceSandbox } from '../../connectors/salesforce/sandbox';
import { startSandbox as startSendGrid, type SendGridSandbox } from '../../connectors/sendgrid/sandbox';
import { outboundMessage } from '../../connectors/salesforce/conformance';
import { createApp } from '../../src/bootstrap';
import { AppConfig } from '../../src/config/app-config';
import { CLAIM_MS } from '../../src/identity/duplicate-detector.service';
import { JobName } from '../../src/queue/job-queue';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';
import {
  compileWorker,
  removeCompiledWorker,
  startWorker,
  stopWorker,
  waitFor,
  type ClusterWorker,
} from '../support/worker-cluster';

const REDIS_URL = process.env.REDIS_URL;
const HUBSPOT_BUDGET = { requests: 4, perMs: 1000 };
/** Run leases and drain locks of the workers: a SIGKILLed holder blocks its sync or destination this long. */
const LEASE_MS = 3000;
/** The Outbound Message token of the Salesforce connections. */
const SF_SECRET = 'scale-out-outbound-secret';

if (!REDIS_URL) {
  describe('scale-out on Redis + PostgreSQL', () => {
    it('skipped: REDIS_URL not set', () => {
      console.log('skipped: REDIS_URL not set (the scale-out suite runs in .ci/run against the real Redis)');
      expect(process.env.REDIS_URL).toBeUndefined();
    });
  });
} else {
  const target = testDatabaseTarget();
  const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

  describe(`scale-out on Redis + ${target.type}: 3 worker processes`, () => {
    let salesforce: SalesforceSandbox;
    let emptySource: SalesforceSandbox;
    let hubspot: HubSpotSandbox;
    let sendgrid: SendGridSandbox;
    let pool: DataSource | undefined;
    let queue: Queue;
    let queueConnection: IORedis | undefined;
    /** Versions per customer when the previous phase settled: each phase changes every live source record once. */
    let before = new Map<string, number>();
    let configDir: string;
    let workerEnv: Record<string, string>;
    const workers: ClusterWorker[] = [];
    const hubspotCalls: { at: number; allowed: boolean }[] = [];

    const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> =>
      (await pool!.query(text, params)) as T[];
    const num = async (text: string, params: unknown[] = []) =>
      Number(Object.values((await sql(text, params))[0])[0]);
    const liveContacts = () =>
      (
        salesforce.state().records as {
          attributes?: { type: string };
          IsDeleted?: boolean;
          Email?: string;
          Title?: string;
        }[]
      ).filter((r) => r.attributes?.type === 'Contact' && !r.IsDeleted);
    const enqueueRun = (syncId: string, jobId: string) =>
      queue.add(
        JobName.SyncRun,
        { syncId, trigger: 'manual' },
        { jobId, removeOnComplete: true, removeOnFail: true },
      );
    const redisCli = (...args: string[]) =>
      execFileSync('redis-cli', ['-u', REDIS_URL, ...args], { stdio: 'pipe', timeout: 5000 }).toString();
    const redisUp = () => {
      try {
        return redisCli('ping').trim() === 'PONG';
      } catch {
        return false;
      }
    };
    /** Starts Redis as .ci/run does when it does not answer, and waits for it. */
    const ensureRedis = async () => {
      if (redisUp()) return;
      const url = new URL(REDIS_URL);
      execFileSync('redis-server', [
        '--daemonize',
        'yes',
        '--bind',
        url.hostname,
        '--port',
        url.port || '6379',
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
      await waitFor('Redis to answer again', async () => redisUp(), 20_000, 100);
    };
    /** GET /health of a worker, at the address its ready line announced. */
    const workerHealth = async (w: ClusterWorker) => {
      if (!w.healthUrl)
        throw new Error(`worker ${w.pid} announced no health endpoint:\n${w.output.join('')}`);
      const res = await fetch(w.healthUrl);
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const dump = () =>
      workers
        .map((w) => `--- worker ${w.pid}${w.alive() ? '' : ' (dead)'}\n${w.output.slice(-30).join('')}`)
        .join('\n');

    /**
     * Customers are the live ones: the seed's duplicates merge, and a merged-away customer keeps its row (with
     * merged_into) but no identities and no destination record.
     * Versions each customer gained since the previous phase, against its Salesforce records. Every phase changes
     * every live source record once, so each customer gains at least one version and at most one per source
     * record (the seed has duplicates that merge into one customer: a merged customer gets a version per record,
     * or fewer when records of one page coalesce). A change applied twice shows as more.
     */
    const versionGains = async () => {
      const rows = await sql<{ id: string; versions: string; records: string }>(
        `SELECT c.id, (SELECT COUNT(*) FROM customer_versions v WHERE v.customer_id = c.id) AS versions,
                (SELECT COUNT(*) FROM customer_identities i WHERE i.customer_id = c.id AND i.connection = 'salesforce') AS records
           FROM customers c WHERE c.merged_into IS NULL`,
      );
      return rows.map((r) => ({
        id: r.id,
        gained: Number(r.versions) - (before.get(r.id) ?? 0),
        records: Math.max(1, Number(r.records)),
        versions: Number(r.versions),
      }));
    };

    /** Read side complete (every live source record is a customer or quarantined) and no outbound work left. */
    const settled = async () => {
      const customers = await num('SELECT COUNT(*) FROM customers WHERE merged_into IS NULL');
      const quarantined = await num('SELECT COUNT(*) FROM quarantine');
      const merged = await num("SELECT COUNT(*) FROM customer_identities WHERE connection = 'salesforce'");
      const pending = await num("SELECT COUNT(*) FROM outbox WHERE status = 'pending'");
      const running = await num(
        "SELECT COUNT(*) FROM sync_runs WHERE sync_id = 'contacts' AND status = 'running' AND owner = ANY($1)",
        [workers.filter((w) => w.alive()).map((w) => `${os.hostname()}:${w.pid}`)],
      );
      const gains = await versionGains();
      const off = gains.filter((g) => g.gained < 1 || g.gained > g.records);
      lastState = `customers ${customers}, linked source records ${merged} + quarantined ${quarantined} of ${liveContacts().length} live, pending ${pending}, running ${running}, customers without exactly one version per changed record ${off.length}: ${JSON.stringify(off.slice(0, 5))}`;
      return (
        customers > 0 &&
        merged + quarantined >= liveContacts().length &&
        pending === 0 &&
        running === 0 &&
        off.length === 0
      );
    };
    let lastState = '';
    /** Waits for settled(); on a timeout says which part was missing and what the workers printed by then. */
    const waitSettled = (what: string, timeoutMs: number) =>
      waitFor(what, () => settled(), timeoutMs, 500).catch((err: Error) => {
        throw new Error(`${err.message}\n${lastState}\n${dump()}`);
      });

    /** Destinations equal the source under the mappings; every change applied once (one version per change). */
    const expectConsistent = async (title?: string) => {
      const customers = await num('SELECT COUNT(*) FROM customers WHERE merged_into IS NULL');
      const quarantined = await num('SELECT COUNT(*) FROM quarantine');
      // Every live source record is either linked to exactly one customer or quarantined.
      const linked = await num("SELECT COUNT(*) FROM customer_identities WHERE connection = 'salesforce'");
      expect(linked + quarantined).toBe(liveContacts().length);
      const gains = await versionGains();
      expect(gains.length).toBe(customers);
      expect(gains.filter((g) => g.gained < 1 || g.gained > g.records)).toEqual([]);
      before = new Map(gains.map((g) => [g.id, g.versions]));
      const sourceEmails = new Set(liveContacts().map((r) => (r.Email ?? '').trim().toLowerCase()));
      // Live contacts: the store keeps archived (deleted) ones too, as HubSpot does for 90 days.
      const hs = hubspot.store.all().filter((c) => !c.archivedAt);
      const hsEmails = hs.map((c) => String(c.props.email).toLowerCase());
      expect(new Set(hsEmails).size).toBe(hsEmails.length); // no contact created twice
      expect(hs.length).toBe(customers); // every customer reached the CRM
      for (const e of hsEmails) expect(sourceEmails.has(e)).toBe(true);
      if (title) expect(hs.filter((c) => c.props.jobtitle !== title).map((c) => c.props.email)).toEqual([]);
      const sg = sendgrid.state().records as { id: string; email: string }[];
      // Every contact at SendGrid is the record of exactly one live customer, and every record we hold is there:
      // no merged-away customer's contact is left behind, none is tracked twice.
      const tracked = await sql<{ external_id: string; live: string }>(
        "SELECT d.external_id, CASE WHEN c.merged_into IS NULL THEN 1 ELSE 0 END AS live FROM destination_state d JOIN customers c ON c.id = d.customer_id WHERE d.connection = 'sendgrid' AND d.external_id IS NOT NULL",
      );
      expect(tracked.filter((t) => Number(t.live) !== 1)).toEqual([]);
      expect(new Set(tracked.map((t) => t.external_id)).size).toBe(tracked.length);
      expect(sg.map((c) => c.id).sort()).toEqual(tracked.map((t) => t.external_id).sort());
      for (const c of sg) expect(sourceEmails.has(c.email.toLowerCase())).toBe(true);
      expect(await num("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'dead')")).toBe(0);
    };

    beforeAll(async () => {
      salesforce = await startSalesforce({ port: 0, seed: 11, count: 400 });
      emptySource = await startSalesforce({ port: 0, seed: 12, count: 0 });
      hubspot = await startHubSpot({
        port: 0,
        seed: 11,
        count: 0,
        rateLimit: { max: HUBSPOT_BUDGET.requests, intervalMs: HUBSPOT_BUDGET.perMs },
      });
      sendgrid = await startSendGrid({ port: 0, seed: 11, count: 0, jobDelayMs: 20 });
      // Every HubSpot request as the vendor saw it, from whichever worker sent it.
      const take = hubspot.rateLimiter.take.bind(hubspot.rateLimiter);
      hubspot.rateLimiter.take = (token: string, now?: number) => {
        const d = take(token, now);
        hubspotCalls.push({ at: Date.now(), allowed: d.allowed });
        return d;
      };
      const sf = (s: SalesforceSandbox, id: string) => ({
        id,
        connector: 'salesforce',
        baseUrl: s.url,
        credentials: {
          instanceUrl: s.credentials.instanceUrl,
          accessToken: s.credentials.accessToken,
          clientId: s.credentials.clientId,
          clientSecret: s.credentials.clientSecret,
          refreshToken: s.credentials.refreshToken,
        },
        settings: { organizationId: s.credentials.organizationId, webhookSecret: SF_SECRET },
      });
      // Two CRM connections on one private-app token: one vendor budget, drained by different workers at once.
      const hs = (id: string) => ({
        id,
        connector: 'hubspot',
        baseUrl: hubspot.url,
        credentials: {
          accessToken: hubspot.credentials.accessToken,
          clientSecret: hubspot.credentials.clientSecret,
        },
        settings: { rateBudget: HUBSPOT_BUDGET },
      });
      const config = {
        connections: [
          sf(salesforce, 'salesforce'),
          sf(emptySource, 'salesforce-empty'),
          hs('hubspot'),
          hs('hubspot-b'),
          hs('hubspot-tick'),
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
          {
            id: 'contacts',
            // Small pages, so the cluster has several to share.
            source: { connection: 'salesforce', object: 'Contact', pageSize: 50 },
            destinations: [
              { connection: 'sendgrid', object: 'contacts' },
              { connection: 'hubspot', object: 'contacts' },
              { connection: 'hubspot-b', object: 'contacts' },
            ],
          },
          // Every second, from an empty source: each tick is one cheap run, counted in sync_runs.
          {
            id: 'ticker',
            source: { connection: 'salesforce-empty', object: 'Contact' },
            destinations: [{ connection: 'hubspot-tick', object: 'contacts' }],
            schedule: '* * * * * *',
          },
        ],
      };
      configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-scale-out-'));
      fs.writeFileSync(path.join(configDir, 'syncline.yaml'), JSON.stringify(config));
      workerEnv = {
        ...testDatabaseEnv(target),
        REDIS_URL: REDIS_URL,
        QUEUE_PREFIX: prefix,
        QUEUE_LOCK_MS: '4000',
        SYNCLINE_CONFIG: path.join(configDir, 'syncline.yaml'),
        LOG_LEVEL: 'warn',
        OUTBOX_BASE_DELAY_MS: '200',
        OUTBOX_MAX_DELAY_MS: '2000',
        SYNCLINE_API_TOKENS: '',
        SYNCLINE_LEASE_MS: String(LEASE_MS),
        // Each worker's health endpoint on a port of its own, announced in its ready line.
        WORKER_HEALTH_PORT: '0',
        HOST: '127.0.0.1',
      };
      // Transpiled once, then three plain-node workers booted at once on the empty schema (config loading is
      // idempotent and tolerates concurrent creation).
      compileWorker();
      workers.push(...(await Promise.all([0, 1, 2].map(() => startWorker(workerEnv)))));
      pool =
        target.type === 'postgres'
          ? await new DataSource({
              type: 'postgres',
              url: target.url,
              extra: { options: `-c search_path=${target.schema}`, max: 2 },
            }).initialize()
          : (() => {
              throw new Error(
                'the scale-out suite needs DATABASE_URL=postgres://… (several processes share the database)',
              );
            })();
      queueConnection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
      queueConnection.on('error', () => undefined);
      queue = new Queue(JobName.SyncRun, { connection: queueConnection, prefix });
      queue.on('error', () => undefined);
    }, 180_000);

    afterAll(async () => {
      await ensureRedis().catch((err: Error) => console.error(`could not restart Redis: ${err.message}`));
      await Promise.all(workers.map((w) => stopWorker(w)));
      await queue?.close().catch(() => undefined);
      queueConnection?.disconnect(); // a connection handed to BullMQ is not closed by it
      removeCompiledWorker();
      await pool?.destroy().catch(() => undefined);
      await Promise.allSettled([
        salesforce?.close(),
        emptySource?.close(),
        hubspot?.close(),
        sendgrid?.close(),
      ]);
      const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 3 });
      const keys = await redis.keys(`${prefix}:*`).catch(() => [] as string[]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
      if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
      await dropTestDatabase(target);
    }, 60_000);

    it('three workers complete a full sync: destinations equal the source, nothing applied twice, one HubSpot budget', async () => {
      await enqueueRun('contacts', 'full-1');
      const t0 = Date.now();
      await waitSettled('the full sync to settle', 90_000);
      const [run] = await sql<{ started_at: string; finished_at: string; counts: string }>(
        "SELECT started_at, finished_at, counts FROM sync_runs WHERE sync_id = 'contacts'",
      );
      const read = (JSON.parse(run.counts) as { read: number }).read;
      const runS = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
      console.log(
        `full sync on 3 workers: ${read} records in ${runS.toFixed(1)} s of run (${Math.round(read / runS)} records/s, the HubSpot budget of ${HUBSPOT_BUDGET.requests}/s bounding it), settled ${((Date.now() - t0) / 1000).toFixed(1)} s after the enqueue`,
      );
      await expectConsistent();
      // Pushes during the read were drain jobs any worker took; the run reports what all of them sent for it, as
      // its outcome log records it.
      const [{ id: runId }] = await sql<{ id: string }>(
        "SELECT id FROM sync_runs WHERE sync_id = 'contacts'",
      );
      const out = new Map(
        (
          await sql<{ connection: string; action: string; n: string }>(
            "SELECT connection, action, COUNT(*) AS n FROM record_outcomes WHERE run_id = $1 AND direction = 'out' GROUP BY connection, action",
            [runId],
          )
        ).map((r) => [`${r.connection}/${r.action}`, Number(r.n)]),
      );
      const sentByOutcomes = [...out].reduce(
        (n, [k, v]) => n + (k.endsWith('/created') || k.endsWith('/updated') ? v : 0),
        0,
      );
      expect((JSON.parse(run.counts) as { sent: number }).sent).toBe(sentByOutcomes);
      // Every contact at SendGrid was created by this run, whichever worker pushed it (deletes of merged twins can
      // come later, from drains after the run, so only this direction is exact).
      const createdByRun = new Set(
        (
          await sql<{ external_id: string }>(
            "SELECT external_id FROM record_outcomes WHERE run_id = $1 AND connection = 'sendgrid' AND direction = 'out' AND action = 'created'",
            [runId],
          )
        ).map((r) => r.external_id),
      );
      const atSendGrid = (sendgrid.state().records as { id: string }[]).map((r) => r.id);
      expect(atSendGrid.length).toBeGreaterThan(0);
      expect(atSendGrid.filter((id) => !createdByRun.has(id))).toEqual([]);
      // One process read the source; the pages it read were applied across the cluster.
      const appliers = await sql<{ applied_by: string; n: string }>(
        "SELECT p.applied_by, COUNT(*) AS n FROM run_pages p JOIN sync_runs r ON r.id = p.run_id WHERE r.sync_id = 'contacts' AND p.status = 'applied' GROUP BY p.applied_by",
      );
      console.log(`pages applied per worker: ${appliers.map((a) => a.n).join(', ')}`);
      expect(appliers.length).toBeGreaterThanOrEqual(2);
      // Three processes drained two HubSpot connections on one token, and the vendor never had to refuse one.
      expect(hubspotCalls.filter((c) => !c.allowed)).toEqual([]);
      expect(hubspotCalls.length).toBeGreaterThanOrEqual(8);
      const allowed = hubspotCalls.map((c) => c.at);
      const peak = Math.max(
        ...allowed.map((t) => allowed.filter((u) => u >= t && u < t + HUBSPOT_BUDGET.perMs).length),
      );
      expect(peak).toBeLessThanOrEqual(HUBSPOT_BUDGET.requests);
    }, 120_000);

    it('a scheduled sync fires exactly once per tick across the three processes', async () => {
      const t0 = new Date(Date.now() + 1000).toISOString();
      await new Promise((r) => setTimeout(r, 7000));
      const t1 = new Date(Date.now() - 1000).toISOString();
      const runs = await num(
        "SELECT COUNT(*) FROM sync_runs WHERE sync_id = 'ticker' AND trigger = 'schedule' AND started_at >= $1 AND started_at < $2",
        [t0, t1],
      );
      const owners = await num("SELECT COUNT(DISTINCT owner) FROM sync_runs WHERE sync_id = 'ticker'");
      console.log(`ticker: ${runs} runs in 5 s of one-second ticks, run by ${owners} process(es)`);
      // Five ticks in the window; a cron in every process would have made about fifteen runs.
      expect(runs).toBeGreaterThanOrEqual(3);
      expect(runs).toBeLessThanOrEqual(6);
    }, 30_000);

    it('a sync never runs twice at once, however many jobs ask for it', async () => {
      salesforce.massUpdate(undefined, { Title: 'Title v2' });
      await Promise.all([1, 2, 3, 4, 5, 6].map((i) => enqueueRun('contacts', `burst-${i}`)));
      await waitSettled('the burst to settle', 90_000);
      const runs = await sql<{ started_at: string; finished_at: string | null }>(
        "SELECT started_at, finished_at FROM sync_runs WHERE sync_id = 'contacts' ORDER BY started_at",
      );
      expect(runs.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < runs.length; i++)
        expect(Date.parse(runs[i].started_at)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].finished_at!));
      await expectConsistent('Title v2');
    }, 120_000);

    it('a worker SIGKILLed mid-run loses nothing: the others finish its work, each change applied once', async () => {
      sendgrid.faults.configure({ latencyMs: 300 }); // outbound batches slow enough to be caught mid-way
      salesforce.massUpdate(undefined, { Title: 'Title v3' });
      await enqueueRun('contacts', 'kill-1');
      let owner = '';
      // Read finished: the run holding the lease has an inbound outcome for every live source record.
      await waitFor(
        'the run to finish its read and hold the lease',
        async () => {
          const [lease] = await sql<{ owner: string; run_id: string }>(
            "SELECT owner, run_id FROM sync_leases WHERE sync_id = 'contacts'",
          );
          owner = lease?.owner ?? '';
          return (
            !!owner &&
            (await num("SELECT COUNT(*) FROM record_outcomes WHERE run_id = $1 AND direction = 'in'", [
              lease.run_id,
            ])) >= liveContacts().length
          );
        },
        60_000,
        50,
      );
      const victim = workers.find((w) => owner === `${os.hostname()}:${w.pid}`);
      expect(victim).toBeDefined();
      victim!.child.kill('SIGKILL');
      await waitFor('the victim to die', async () => !victim!.alive(), 5_000, 50);
      sendgrid.faults.reset();
      // Its run lease and drain locks expire after LEASE_MS; its stalled job is retried by a survivor. Customers in
      // a detection batch it had claimed stay held from their push until the claim lapses (CLAIM_MS after it was
      // taken or last renewed), then a survivor's sweep detects and pushes them: waiting only CLAIM_MS, a run where
      // it died just after claiming left 3 pushes pending at the deadline.
      await waitSettled("the survivors to finish the victim's work", CLAIM_MS + 30_000);
      await expectConsistent('Title v3');
      expect(workers.filter((w) => w.alive()).length).toBe(2);
    }, 180_000);

    it('an API process with SYNCLINE_BACKGROUND_JOBS=off acknowledges a webhook, and a worker applies it', async () => {
      // The receiver of the README's cluster layout: it serves the API and webhooks, queues, and works on nothing.
      const receiver = await createApp(
        AppConfig.fromEnvironment({ ...workerEnv, SYNCLINE_BACKGROUND_JOBS: 'off', LOG_LEVEL: 'silent' }),
      );
      await receiver.listen(0, '127.0.0.1');
      try {
        const url = await receiver.getUrl();
        const health = await fetch(`${url}/health`);
        expect(health.status).toBe(200);
        expect(((await health.json()) as { info: unknown }).info).toMatchObject({
          queue: { status: 'up', adapter: 'bullmq' },
        });
        const [row] = await sql<{ external_id: string; customer_id: string }>(
          `SELECT i.external_id, i.customer_id FROM customer_identities i JOIN customers c ON c.id = i.customer_id
            WHERE i.connection = 'salesforce' AND c.merged_into IS NULL ORDER BY i.external_id LIMIT 1`,
        );
        salesforce.mutate(row.external_id, { Title: 'Via the receiver' });
        const delivery = outboundMessage(salesforce, [row.external_id], { token: SF_SECRET });
        const ack = await fetch(`${url}/webhooks/salesforce?token=${SF_SECRET}`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml; charset=utf-8' },
          body: delivery.rawBody.toString('utf8'),
        });
        expect(ack.status).toBe(200);
        expect(await ack.text()).toContain('<Ack>true</Ack>');
        await waitFor(
          'a worker to apply the delivery',
          async () => {
            const [c] = await sql<{ fields: string }>('SELECT fields FROM customers WHERE id = $1', [
              row.customer_id,
            ]);
            return JSON.parse(c.fields).jobTitle === 'Via the receiver';
          },
          30_000,
          100,
        );
        await waitFor(
          'a worker to push the change to HubSpot',
          async () => hubspot.store.all().some((c) => c.props.jobtitle === 'Via the receiver'),
          30_000,
          100,
        );
        await waitFor(
          'the outbox to settle',
          async () => (await num("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")) === 0,
          30_000,
        );
        expect(hubspot.store.all().filter((c) => c.props.jobtitle === 'Via the receiver')).toHaveLength(1);
      } finally {
        await receiver.close();
      }
      // A worker's metrics: the queue depth is the cluster's (BullMQ), and the backlog it left is nothing.
      const metrics = await fetch(
        workers.find((w) => w.alive())!.healthUrl!.replace(/\/health$/, '/metrics'),
      );
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/^syncline_jobs\{job="apply-page",state="waiting"\} 0$/m);
      expect(text).toMatch(/^syncline_sync_last_success_timestamp_seconds\{sync="contacts"\} \d/m);
      expect(text).not.toMatch(/^syncline_outbox_rows\{.*status="pending"\}/m);
      // The next phase counts versions from here: this customer's extra change is not one applied twice.
      before = new Map((await versionGains()).map((g) => [g.id, g.versions]));
    }, 120_000);

    it('the cluster recovers by itself from a Redis restart: schedules fire again and new work completes', async () => {
      // The victim's run lease lapses LEASE_MS after its last renewal, and a run asked for before then is refused as
      // already running (a sync never runs twice at once): the previous test can settle sooner than that, so wait
      // for the lapse itself, not for time to pass.
      await waitFor(
        "the victim's run lease to lapse",
        async () => {
          const [lease] = await sql<{ expires_at: string }>(
            "SELECT expires_at FROM sync_leases WHERE sync_id = 'contacts'",
          );
          return !lease || Date.parse(lease.expires_at) < Date.now();
        },
        20_000,
        100,
      );
      const probe = workers.find((w) => w.alive())!;
      expect((await workerHealth(probe)).status).toBe(200);
      let healthWhileDown: { status: number; body: Record<string, any> } | undefined;
      try {
        redisCli('shutdown', 'nosave');
      } catch {
        // redis-cli reports the dropped connection of a successful shutdown as an error
      }
      try {
        const downFor = Date.now() + 1000;
        // A supervisor's readiness probe sees the worker unable to take jobs while Redis is down.
        while (Date.now() < downFor && healthWhileDown?.status !== 503)
          healthWhileDown = await workerHealth(probe);
        await new Promise((r) => setTimeout(r, Math.max(0, downFor - Date.now())));
      } finally {
        await ensureRedis(); // whatever happened above, later suites and CI get their Redis back
      }
      expect(healthWhileDown).toMatchObject({
        status: 503,
        body: {
          status: 'error',
          error: { queue: { status: 'down', adapter: 'bullmq' } },
          info: { database: { status: 'up' } },
        },
      });
      expect(healthWhileDown!.body.error.queue.message).toMatch(/^redis: /);
      await waitFor(
        'the worker to report healthy again',
        async () => (await workerHealth(probe)).status === 200,
        20_000,
      );
      const restartedAt = Date.now();
      salesforce.massUpdate(undefined, { Title: 'Title v4' });
      // Redis forgot every job; the run is asked for again, as a user or the next tick would.
      await waitFor(
        'the queue to accept jobs again',
        async () => {
          try {
            await enqueueRun('contacts', 'after-restart');
            return true;
          } catch {
            return false;
          }
        },
        20_000,
      );
      await waitSettled('the cluster to finish the run after the restart', 90_000);
      await expectConsistent('Title v4');
      const ticks = await num("SELECT COUNT(*) FROM sync_runs WHERE sync_id = 'ticker' AND started_at > $1", [
        new Date(restartedAt + 2000).toISOString(),
      ]);
      expect(ticks).toBeGreaterThanOrEqual(1);
      expect(workers.filter((w) => w.alive()).length).toBe(2);
    }, 150_000);
  });
}
