// A release that changes the blocking rules re-keys the base: every live customer is detected again, a slice at a
// time, and the duplicates the old keys kept apart are found.
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { ActorType } from '../../src/audit/audit.types';
import { BLOCKING_RULES_VERSION, blockKeys } from '../../src/identity/blocking';
import { BlockKeyRules, REKEY_ACTOR } from '../../src/identity/block-key-rules.service';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { generatePerson } from '../../src/sandbox/people';
import { Database } from '../../src/store/database';
import { RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { SyncScheduler } from '../../src/sync/sync-scheduler.service';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe('the blocking rules and their version', () => {
  it('are pinned: a change to the keys they make needs BLOCKING_RULES_VERSION raised', () => {
    const h = createHash('sha256');
    for (let i = 0; i < 2_000; i++) {
      const p = generatePerson(i, 11);
      const fields = {
        firstName: p.firstName,
        lastName: p.lastName,
        email: p.email,
        phone: p.phone,
        company: p.company,
      };
      h.update(
        JSON.stringify(blockKeys(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v ?? null])))),
      );
    }
    // If this fails, the rules changed: raise BLOCKING_RULES_VERSION (stores keyed by the old rules are then
    // re-keyed in the background), and write down the new digest with the new version.
    expect({ version: BLOCKING_RULES_VERSION, digest: h.digest('hex').slice(0, 16) }).toEqual({
      version: 1,
      digest: '36224bec005abd46',
    });
  });
});

describe(`re-keying for new blocking rules (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  const rules = () => env.app.get(BlockKeyRules);
  const detector = () => env.app.get(DuplicateDetector);
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0].n);
  const LIVE = 'merged_into IS NULL AND erased_at IS NULL';
  const keyedByOlderRules = () =>
    db.transaction((tx) =>
      tx.execute('UPDATE block_key_rules SET version = ?, rekeyed_through = NULL WHERE id = 1', [
        BLOCKING_RULES_VERSION - 1,
      ]),
    );
  const keyedByRulesInForce = async () =>
    expect(await rules().status()).toEqual({
      version: BLOCKING_RULES_VERSION,
      current: BLOCKING_RULES_VERSION,
      rekeyedThrough: null,
    });

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 300,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_BACKGROUND_JOBS: 'off' },
    });
    for (const sb of [env.salesforce, env.hubspot, env.sendgrid]) sb.webhooks.configure({ enabled: false });
    db = env.app.get(Database);
    const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(run.status).toBe(RunStatus.Succeeded);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('has nothing to do on a store keyed by the rules in force', async () => {
    await keyedByRulesInForce();
    expect(await rules().step()).toEqual({ state: 'current' });
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  it('detects every live customer again, a slice at a time, and finds the duplicates the old keys hid', async () => {
    // A store keyed by older rules: one key each that the rules in force never make.
    await keyedByOlderRules();
    await db.transaction(async (tx) => {
      await tx.execute('DELETE FROM customer_block_keys');
      await tx.execute(
        `INSERT INTO customer_block_keys (block_key, customer_id) SELECT 'old:' || id, id FROM customers WHERE ${LIVE}`,
      );
    });
    // A customer with no candidate yet, and its twin (the same stored fields under a new id) arriving now.
    const [x] = await db.query<{ id: string }>(
      `SELECT id FROM customers c WHERE ${LIVE} AND NOT EXISTS (SELECT 1 FROM merge_candidates m WHERE m.customer_a = c.id OR m.customer_b = c.id) ORDER BY id LIMIT 1`,
    );
    const twin = randomUUID();
    await db.transaction(async (tx) => {
      await tx.execute(
        'INSERT INTO customers (id, version, email_key, fields, provenance, created_at, updated_at) SELECT ?, 1, NULL, fields, provenance, created_at, updated_at FROM customers WHERE id = ?',
        [twin, x.id],
      );
      await detector().enqueue(tx, [twin], { type: ActorType.Cli, id: 'twin' });
    });
    await detector().drain();
    const pairOf = () =>
      count('SELECT COUNT(*) AS n FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [
        x.id < twin ? x.id : twin,
        x.id < twin ? twin : x.id,
      ]);
    // Its keys are the rules' own, its twin still holds only an old one: the two are never compared.
    expect(await pairOf()).toBe(0);
    expect(
      await count(`SELECT COUNT(*) AS n FROM customers WHERE id IN (?, ?) AND ${LIVE}`, [x.id, twin]),
    ).toBe(2);

    const live = await count(`SELECT COUNT(*) AS n FROM customers WHERE ${LIVE}`);
    const slice = 100;
    let queued = 0;
    let slices = 0;
    for (let i = 0; i < 50; i++) {
      const s = await rules().step(slice);
      if (s.state === 'done' || s.state === 'current') break;
      if (s.state === 'queued') {
        queued += s.queued;
        slices++;
        expect((await rules().status()).rekeyedThrough).toBe(s.through);
        expect(
          await count('SELECT COUNT(*) AS n FROM identity_pending WHERE actor_type = ? AND actor_id = ?', [
            REKEY_ACTOR.type,
            REKEY_ACTOR.id,
          ]),
        ).toBe(s.queued);
        // Paced: no further slice while a full one waits for detection.
        if (s.queued === slice) expect((await rules().step(slice)).state).toBe('waiting');
        if (slices === 1) {
          // Visible over the API while it goes on.
          const report = await request(env.url)
            .get('/duplicate-detection')
            .set({ Authorization: `Bearer ${env.token}` })
            .expect(200);
          expect(report.body).toMatchObject({
            pending: s.queued,
            blockingRules: {
              version: BLOCKING_RULES_VERSION - 1,
              current: BLOCKING_RULES_VERSION,
              rekeying: true,
            },
          });
          expect(report.body.blockingRules.rekeyedThrough).toBe(s.through);
        }
      }
      await detector().drain();
    }
    // Every customer live when it was reached (merges on the way, the twins' among them, leave fewer).
    expect(queued).toBeLessThanOrEqual(live);
    expect(queued).toBeGreaterThanOrEqual(await count(`SELECT COUNT(*) AS n FROM customers WHERE ${LIVE}`));
    expect(slices).toBe(Math.ceil(queued / slice));
    await keyedByRulesInForce();
    expect(await rules().step()).toEqual({ state: 'current' });
    expect((await rules().report()).blockingRules.rekeying).toBe(false);
    // Every live customer holds the rules' keys again, none of the old ones.
    expect(await count("SELECT COUNT(*) AS n FROM customer_block_keys WHERE block_key LIKE 'old:%'")).toBe(0);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM customer_block_keys k WHERE k.customer_id = c.id)',
      ),
    ).toBe(0);
    // The twins met: merged (same fields score above the automatic threshold) or at least put up for review.
    const merged = await count(
      'SELECT COUNT(*) AS n FROM customers WHERE id IN (?, ?) AND merged_into IS NOT NULL',
      [x.id, twin],
    );
    expect(merged + (await pairOf())).toBeGreaterThan(0);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  }, 120_000);

  it('queues a slice once when two workers step at the same time', async () => {
    await keyedByOlderRules();
    // Each reads the position, then moves it in a transaction that checks it: the second finds it moved (or the
    // slice pending, if it read after the first committed) and queues nothing.
    const steps = await Promise.all([rules().step(40), rules().step(40)]);
    expect(steps.reduce((n, s) => n + (s.state === 'queued' ? s.queued : 0), 0)).toBe(40);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(40);
    // And the rest goes on from there.
    for (let i = 0; i < 50 && (await rules().step(40)).state !== 'done'; i++) await detector().drain();
    await detector().drain();
    expect((await rules().status()).version).toBe(BLOCKING_RULES_VERSION);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  }, 120_000);

  it('is driven by the background sweep, which every worker runs', async () => {
    await keyedByOlderRules();
    const scheduler = env.app.get(SyncScheduler);
    await scheduler.sweep();
    const first = (await rules().status()).rekeyedThrough;
    expect(first).not.toBeNull();
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBeGreaterThan(0);
    for (let i = 0; i < 20 && (await rules().status()).version !== BLOCKING_RULES_VERSION; i++) {
      await detector().drain();
      await scheduler.sweep();
    }
    expect(await rules().status()).toMatchObject({ version: BLOCKING_RULES_VERSION, rekeyedThrough: null });
  }, 120_000);
});
