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
import { Pool } from 'pg';
import { startSandbox as startHubSpot, type HubSpotSandbox } from '../../connectors/hubspot/sandbox';
import { startSandbox as startSalesforce, type SalesforceSandbox } from '../../connectors/salesforce/sandbox';
import { startSandbox as startSendGrid, type SendGridSandbox } from '../../connectors/sendgrid/sandbox';
import { JobName } from '../../src/queue/job-queue';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';
import { startWorker, stopWorker, waitFor, type ClusterWorker } from '../support/worker-cluster';

const REDIS_URL = process.env.REDIS_URL;
const HUBSPOT_BUDGET = { requests: 4, perMs: 1000 };

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
    let pool: Pool;
    let queue: Queue;
    let configDir: string;
    let workerEnv: Record<string, string>;
    const workers: ClusterWorker[] = [];
    const hubspotCalls: { at: number; allowed: boolean }[] = [];

    const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> => (await pool.query(text, params)).rows as T[];
    const num = async (text: string, params: unknown[] = []) => Number(Object.values((await sql(text, params))[0])[0]);
    const liveContacts = () =>
      (salesforce.state().records as { attributes?: { type: string }; IsDeleted?: boolean; Email?: string; Title?: string }[]).filter(
        (r) => r.attributes?.type === 'Contact' && !r.IsDeleted,
      );
    const enqueueRun = (syncId: string, jobId: string) => queue.add(JobName.SyncRun, { syncId, trigger: 'manual' }, { jobId, removeOnComplete: true, removeOnFail: true });
    const dump = () => workers.map((w) => `--- worker ${w.pid}${w.alive() ? '' : ' (dead)'}\n${w.output.slice(-30).join('')}`).join('\n');

    /** Read side complete (every live source record is a customer or quarantined) and no outbound work left. */
    const settled = async (versionsPerCustomer: number) => {
      const customers = await num('SELECT COUNT(*) FROM customers');
      const quarantined = await num('SELECT COUNT(*) FROM quarantine');
      const versions = await num('SELECT COUNT(*) FROM customer_versions');
      const pending = await num("SELECT COUNT(*) FROM outbox WHERE status = 'pending'");
      const running = await num("SELECT COUNT(*) FROM sync_runs WHERE sync_id = 'contacts' AND status = 'running' AND owner = ANY($1)", [workers.filter((w) => w.alive()).map((w) => `${os.hostname()}:${w.pid}`)]);
      return customers > 0 && customers + quarantined >= liveContacts().length && versions === customers * versionsPerCustomer && pending === 0 && running === 0;
    };

    /** Destinations equal the source under the mappings; every change applied once (one version per change). */
    const expectConsistent = async (versionsPerCustomer: number, title?: string) => {
      const customers = await num('SELECT COUNT(*) FROM customers');
      const quarantined = await num('SELECT COUNT(*) FROM quarantine');
      expect(customers + quarantined).toBe(liveContacts().length);
      const perCustomer = await sql<{ n: string }>('SELECT COUNT(*) AS n FROM customer_versions GROUP BY customer_id');
      expect(perCustomer.length).toBe(customers);
      expect(new Set(perCustomer.map((r) => Number(r.n)))).toEqual(new Set([versionsPerCustomer]));
      const sourceEmails = new Set(liveContacts().map((r) => (r.Email ?? '').trim().toLowerCase()));
      const hs = hubspot.store.all();
      const hsEmails = hs.map((c) => String(c.props.email).toLowerCase());
      expect(new Set(hsEmails).size).toBe(hsEmails.length); // no contact created twice
      expect(hs.length).toBe(customers); // every customer reached the CRM
      for (const e of hsEmails) expect(sourceEmails.has(e)).toBe(true);
      if (title) expect(hs.filter((c) => c.props.jobtitle !== title).map((c) => c.props.email)).toEqual([]);
      const sg = sendgrid.state().records as { email: string }[];
      expect(sg.length).toBe(await num("SELECT COUNT(*) FROM outbox WHERE connection = 'sendgrid' AND status = 'sent'"));
      for (const c of sg) expect(sourceEmails.has(c.email.toLowerCase())).toBe(true);
      expect(await num("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'dead')")).toBe(0);
    };

    beforeAll(async () => {
      salesforce = await startSalesforce({ port: 0, seed: 11, count: 400 });
      emptySource = await startSalesforce({ port: 0, seed: 12, count: 0 });
      hubspot = await startHubSpot({ port: 0, seed: 11, count: 0, rateLimit: { max: HUBSPOT_BUDGET.requests, intervalMs: HUBSPOT_BUDGET.perMs } });
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
        credentials: { instanceUrl: s.credentials.instanceUrl, accessToken: s.credentials.accessToken, clientId: s.credentials.clientId, clientSecret: s.credentials.clientSecret, refreshToken: s.credentials.refreshToken },
        settings: { organizationId: s.credentials.organizationId },
      });
      // Two CRM connections on one private-app token: one vendor budget, drained by different workers at once.
      const hs = (id: string) => ({
        id,
        connector: 'hubspot',
        baseUrl: hubspot.url,
        credentials: { accessToken: hubspot.credentials.accessToken, clientSecret: hubspot.credentials.clientSecret },
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
            credentials: { apiKey: sendgrid.credentials.apiKey, webhookPublicKey: sendgrid.credentials.webhookPublicKey },
            settings: { createCustomFields: true, jobPollIntervalMs: 20 },
          },
        ],
        syncs: [
          {
            id: 'contacts',
            source: { connection: 'salesforce', object: 'Contact' },
            destinations: [
              { connection: 'sendgrid', object: 'contacts' },
              { connection: 'hubspot', object: 'contacts' },
              { connection: 'hubspot-b', object: 'contacts' },
            ],
          },
          // Every second, from an empty source: each tick is one cheap run, counted in sync_runs.
          { id: 'ticker', source: { connection: 'salesforce-empty', object: 'Contact' }, destinations: [{ connection: 'hubspot-tick', object: 'contacts' }], schedule: '* * * * * *' },
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
      };
      // One after the other, and a boot that failed is tried again: on an empty schema the connections of
      // syncline.yaml are inserted twice at once (ConnectionsService.onModuleInit runs both from Nest and from
      // SyncsService.onModuleInit, concurrently) and one insert loses; the second boot finds them there.
      for (let i = 0; i < 3; i++) workers.push(await startWorker(workerEnv).catch(() => startWorker(workerEnv)));
      pool =
        target.type === 'postgres'
          ? new Pool({ connectionString: target.url, options: `-c search_path=${target.schema}`, max: 2 })
          : (() => {
              throw new Error('the scale-out suite needs DATABASE_URL=postgres://… (several processes share the database)');
            })();
      queue = new Queue(JobName.SyncRun, { connection: new IORedis(REDIS_URL, { maxRetriesPerRequest: null }), prefix });
      queue.on('error', () => undefined);
    }, 180_000);

    afterAll(async () => {
      await Promise.all(workers.map((w) => stopWorker(w)));
      await queue?.close().catch(() => undefined);
      await pool?.end().catch(() => undefined);
      await Promise.allSettled([salesforce?.close(), emptySource?.close(), hubspot?.close(), sendgrid?.close()]);
      const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 3 });
      const keys = await redis.keys(`${prefix}:*`).catch(() => [] as string[]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
      if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
      await dropTestDatabase(target);
    }, 60_000);

    it('three workers complete a full sync: destinations equal the source, nothing applied twice, one HubSpot budget', async () => {
      await enqueueRun('contacts', 'full-1');
      await waitFor(`the full sync to settle\n${dump()}`, () => settled(1), 90_000, 500);
      await expectConsistent(1);
      // Three processes drained two HubSpot connections on one token, and the vendor never had to refuse one.
      expect(hubspotCalls.filter((c) => !c.allowed)).toEqual([]);
      expect(hubspotCalls.length).toBeGreaterThanOrEqual(8);
      const allowed = hubspotCalls.map((c) => c.at);
      const peak = Math.max(...allowed.map((t) => allowed.filter((u) => u >= t && u < t + HUBSPOT_BUDGET.perMs).length));
      expect(peak).toBeLessThanOrEqual(HUBSPOT_BUDGET.requests);
    }, 120_000);

    it('a scheduled sync fires exactly once per tick across the three processes', async () => {
      const t0 = new Date(Date.now() + 1000).toISOString();
      await new Promise((r) => setTimeout(r, 7000));
      const t1 = new Date(Date.now() - 1000).toISOString();
      const runs = await num("SELECT COUNT(*) FROM sync_runs WHERE sync_id = 'ticker' AND trigger = 'schedule' AND started_at >= $1 AND started_at < $2", [t0, t1]);
      const owners = await num("SELECT COUNT(DISTINCT owner) FROM sync_runs WHERE sync_id = 'ticker'");
      console.log(`ticker: ${runs} runs in 5 s of one-second ticks, run by ${owners} process(es)`);
      // Five ticks in the window; a cron in every process would have made about fifteen runs.
      expect(runs).toBeGreaterThanOrEqual(3);
      expect(runs).toBeLessThanOrEqual(6);
    }, 30_000);

    it('a sync never runs twice at once, however many jobs ask for it', async () => {
      salesforce.massUpdate(undefined, { Title: 'Title v2' });
      await Promise.all([1, 2, 3, 4, 5, 6].map((i) => enqueueRun('contacts', `burst-${i}`)));
      await waitFor(`the burst to settle\n${dump()}`, () => settled(2), 90_000, 500);
      const runs = await sql<{ started_at: string; finished_at: string | null }>("SELECT started_at, finished_at FROM sync_runs WHERE sync_id = 'contacts' ORDER BY started_at");
      expect(runs.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i].started_at)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].finished_at!));
      await expectConsistent(2, 'Title v2');
    }, 120_000);

    it('a worker SIGKILLed mid-run loses nothing: the others finish its work, each change applied once', async () => {
      sendgrid.faults.configure({ latencyMs: 300 }); // outbound batches slow enough to be caught mid-way
      salesforce.massUpdate(undefined, { Title: 'Title v3' });
      await enqueueRun('contacts', 'kill-1');
      const customers = await num('SELECT COUNT(*) FROM customers');
      let owner = '';
      await waitFor('the run to finish its read and hold the lease', async () => {
        const [lease] = await sql<{ owner: string }>("SELECT owner FROM sync_leases WHERE sync_id = 'contacts'");
        owner = lease?.owner ?? '';
        return !!owner && (await num('SELECT COUNT(*) FROM customer_versions')) >= customers * 3;
      }, 60_000, 50);
      const victim = workers.find((w) => owner === `${os.hostname()}:${w.pid}`);
      expect(victim).toBeDefined();
      victim!.child.kill('SIGKILL');
      await waitFor('the victim to die', async () => !victim!.alive(), 5_000, 50);
      sendgrid.faults.reset();
      await waitFor(`the survivors to drain the victim's outbound work\n${dump()}`, async () => (await num("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")) === 0, 60_000, 500);
      await expectConsistent(3, 'Title v3');
      expect(workers.filter((w) => w.alive()).length).toBe(2);
    }, 120_000);

    it('the cluster recovers by itself from a Redis restart: schedules fire again and new work completes', async () => {
      // The victim's lease would expire by itself after five minutes; expire it now to keep the suite short.
      await sql("UPDATE sync_leases SET expires_at = '2000-01-01T00:00:00.000Z' WHERE sync_id = 'contacts'");
      const redisCli = (...args: string[]) => execFileSync('redis-cli', ['-u', REDIS_URL, ...args], { stdio: 'pipe' }).toString();
      try {
        redisCli('shutdown', 'nosave');
      } catch {
        // redis-cli reports the dropped connection of a successful shutdown as an error
      }
      await new Promise((r) => setTimeout(r, 1000));
      const url = new URL(REDIS_URL);
      execFileSync('redis-server', ['--daemonize', 'yes', '--bind', url.hostname, '--port', url.port || '6379', '--save', '', '--appendonly', 'no']);
      await waitFor('Redis to answer again', async () => {
        try {
          return redisCli('ping').trim() === 'PONG';
        } catch {
          return false;
        }
      }, 20_000);
      const restartedAt = Date.now();
      salesforce.massUpdate(undefined, { Title: 'Title v4' });
      // Redis forgot every job; the run is asked for again, as a user or the next tick would.
      await waitFor('the queue to accept jobs again', async () => {
        try {
          await enqueueRun('contacts', 'after-restart');
          return true;
        } catch {
          return false;
        }
      }, 20_000);
      await waitFor(`the cluster to finish the run after the restart\n${dump()}`, () => settled(4), 90_000, 500);
      await expectConsistent(4, 'Title v4');
      const ticks = await num("SELECT COUNT(*) FROM sync_runs WHERE sync_id = 'ticker' AND started_at > $1", [new Date(restartedAt + 2000).toISOString()]);
      expect(ticks).toBeGreaterThanOrEqual(1);
      expect(workers.filter((w) => w.alive()).length).toBe(2);
    }, 150_000);
  });
}
