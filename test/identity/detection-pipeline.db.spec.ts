// Duplicate detection beside the inbound path: a run leaves nothing pending, and a customer still waiting for
// detection is held back from its destinations until it has been checked.
import { randomUUID } from 'node:crypto';
import { ActorType } from '../../src/audit/audit.types';
import { CustomerWriter, EmailKeyer } from '../../src/canonical/customer-writer.service';
import { Clock } from '../../src/common/clock';
import { AppConfig } from '../../src/config/app-config';
import { MergeService } from '../../src/identity/merge.service';
import { MergeCandidatesService } from '../../src/identity/merge-candidates.service';
import { CandidateStatus, MergeReason } from '../../src/identity/identity.types';
import { CustomerRepository, type CustomerRow } from '../../src/store/customer.repository';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { MAX_BLOCK } from '../../src/identity/detection-planner';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { OutboxOp, RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`duplicate detection pipeline (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params))[0].n);
  const detector = () => env.app.get(DuplicateDetector);
  /** A customer row to insert as it is; with `sourced`, each field set by a Salesforce record of its own id. */
  const customerRow = (id: string, fields: Record<string, string>, sourced = false): CustomerRow => {
    const now = new Date().toISOString();
    return {
      id,
      version: 1,
      emailKey: env.app.get(CustomerWriter).emailKeyOf(fields.email),
      fields,
      provenance: sourced
        ? Object.fromEntries(
            Object.keys(fields).map((f) => [f, { connection: 'salesforce', at: now, record: id }]),
          )
        : {},
      createdAt: now,
      updatedAt: now,
      mergedInto: null,
      erasedAt: null,
    };
  };

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 400,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_BACKGROUND_JOBS: 'off' },
    });
    for (const sb of [env.salesforce, env.hubspot, env.sendgrid]) sb.webhooks.configure({ enabled: false });
    db = env.app.get(Database);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('a run ends with every changed customer checked, its candidates stored and nothing pending', async () => {
    const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(run.status).toBe(RunStatus.Succeeded);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
    // Every live customer has its block keys, so the next change is compared against all of them.
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM customer_block_keys k WHERE k.customer_id = c.id)',
      ),
    ).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM merge_candidates WHERE status = 'merged'")).toBeGreaterThan(
      0,
    );
    expect(await count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'")).toBe(0);
  });

  // On PostgreSQL a page re-queuing a customer that an open detection batch had taken used to wait on that batch's
  // row (one row per customer), while the batch, merging, waited on the page's customer rows: a deadlock PostgreSQL
  // broke after a second by rolling one back. The queue is rows now: the page does not wait, and the change it
  // queued is detected by the next batch. (On SQLite the two transactions take turns anyway.)
  it('tells its listeners after each batch it commits: a run pushes what a batch released while the drain goes on', async () => {
    const queue = async (n: number) => {
      const ids = await db.query<{ id: string }>(
        'SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id LIMIT ?',
        [n],
      );
      const now = new Date().toISOString();
      await db.transaction((tx) =>
        tx.insertMany(
          'identity_pending',
          ['customer_id', 'actor_type', 'actor_id', 'queued_at'],
          ids.map((r) => [r.id, ActorType.SyncRun, 'backlog', now]),
        ),
      );
      return ids.length;
    };
    // A backlog of 300 (as a read can leave), drained in batches of 100: the listener hears of each batch as it
    // commits, with the customers still waiting fewer each time, not once at the end.
    expect(await queue(300)).toBe(300);
    const waiting: Promise<number>[] = [];
    const stop = detector().onBatch(() =>
      waiting.push(count('SELECT COUNT(*) AS n FROM identity_pending WHERE actor_id = ?', ['backlog'])),
    );
    const total = await detector().drain(100);
    stop();
    expect(total.processed).toBeGreaterThanOrEqual(300);
    const seen = await Promise.all(waiting);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThan(300);
    expect(seen[seen.length - 1]).toBe(0);
    // Unsubscribed: a later drain's batches are not told.
    await queue(50);
    await detector().drain(100);
    expect(waiting).toHaveLength(seen.length);
  });

  it('queues a customer again while a detection batch holds it, without waiting, and detects it once more', async () => {
    const [c] = await db.query(
      'SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id LIMIT 1',
    );
    const detector = env.app.get(DuplicateDetector);
    const actor = { type: ActorType.Cli, id: 'requeue-test' };
    await db.transaction((tx) => detector.enqueue(tx, [c.id], actor));
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Observed, not replaced: the batch's real write runs (its pending row deleted, not yet committed), then the
    // batch's transaction stays open until the test lets it commit.
    const write = detector.write.bind(detector);
    const spy = jest.spyOn(detector, 'write').mockImplementationOnce(async (tx, plan, checked) => {
      const r = await write(tx, plan, checked);
      order.push('batch took it');
      await Promise.race([held, new Promise((res) => setTimeout(res, 3000))]);
      order.push('batch commits');
      return r;
    });
    try {
      const batch = detector.detectFor(actor);
      while (!order.length && target.type === 'postgres') await new Promise((r) => setTimeout(r, 10));
      const requeue = db
        .transaction((tx) => detector.enqueue(tx, [c.id], actor), 0)
        .then(() => order.push('requeued'));
      if (target.type === 'postgres') {
        await requeue;
        release();
      } else release();
      const taken = await batch;
      await requeue;
      expect(taken.processed).toBe(1);
      expect(order).toEqual(
        target.type === 'postgres'
          ? ['batch took it', 'requeued', 'batch commits']
          : ['batch took it', 'batch commits', 'requeued'],
      );
    } finally {
      spy.mockRestore();
    }
    // The change queued meanwhile was not taken by the batch that was already running: the next one checks it.
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending WHERE customer_id = ?', [c.id])).toBe(1);
    const next = await detector.detectFor(actor);
    expect(next.processed).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  it('checks a changed customer again only when a field detection compares changed', async () => {
    const detector = env.app.get(DuplicateDetector);
    const live = await db.query<{ external_id: string; customer_id: string }>(
      "SELECT i.external_id, i.customer_id FROM customer_identities i JOIN customers c ON c.id = i.customer_id WHERE i.connection = 'salesforce' AND i.object = 'Contact' AND c.merged_into IS NULL AND c.erased_at IS NULL ORDER BY i.customer_id LIMIT 2",
    );
    const [retitled, renamed] = live;
    env.salesforce.mutate(retitled.external_id, { Title: 'Chief Detection Skipper' });
    env.salesforce.mutate(renamed.external_id, { LastName: 'Renamedsson' });
    // Observed, not replaced: the real enqueue runs.
    const enqueue = jest.spyOn(detector, 'enqueue');
    try {
      const run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
      expect(run.status).toBe(RunStatus.Succeeded);
      const queued = enqueue.mock.calls.flatMap((call) => call[1]);
      expect(queued).toContain(renamed.customer_id);
      expect(queued).not.toContain(retitled.customer_id);
    } finally {
      enqueue.mockRestore();
    }
    // Both changes were applied and pushed; nothing is left waiting.
    const fields = await env.app
      .get(CustomerRepository)
      .loadMany(db, [retitled.customer_id, renamed.customer_id]);
    expect(fields.get(retitled.customer_id)?.fields.jobTitle).toBe('Chief Detection Skipper');
    expect(fields.get(renamed.customer_id)?.fields.lastName).toBe('Renamedsson');
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'")).toBe(0);
  });

  it('holds a customer awaiting detection back from its destinations until it is checked', async () => {
    const [c] = await db.query(
      "SELECT c.id FROM customers c JOIN destination_state d ON d.customer_id = c.id AND d.connection = 'sendgrid' WHERE c.merged_into IS NULL ORDER BY c.id LIMIT 1",
    );
    const detector = env.app.get(DuplicateDetector);
    const outbox = env.app.get(OutboxService);
    await db.transaction(async (tx) => {
      await detector.enqueue(tx, [c.id], { type: ActorType.Cli, id: 'test' });
      await tx.execute("UPDATE destination_state SET last_hash = 'stale' WHERE customer_id = ?", [c.id]);
      await outbox.enqueue(tx, 'sendgrid', 'contacts', [c.id], OutboxOp.Upsert, 'sf-contacts');
    });
    const held = await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(held.sent + held.unchanged).toBe(0);
    expect(
      await count("SELECT COUNT(*) AS n FROM outbox WHERE customer_id = ? AND status = 'pending'", [c.id]),
    ).toBe(1);

    const detected = await detector.drain();
    expect(detected.processed).toBe(1);
    const pushed = await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(pushed.sent).toBe(1);
    expect(
      await count("SELECT COUNT(*) AS n FROM outbox WHERE customer_id = ? AND status = 'pending'", [c.id]),
    ).toBe(0);
  });

  // A worker killed between a PostgreSQL batch's two transactions leaves its rows claimed: they are left alone
  // until the claim expires, then taken by whoever detects next. (SQLite has one writer and never claims.)
  it("takes rows whose claim expired, and leaves a live claim's rows to their holder", async () => {
    const detector = env.app.get(DuplicateDetector);
    const ids = await db.query(
      'SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id LIMIT 2',
    );
    const actor = { type: ActorType.Cli, id: 'claims-test' };
    await db.transaction((tx) => detector.enqueue(tx, [ids[0].id, ids[1].id], actor));
    const past = new Date(Date.now() - 1_000).toISOString();
    const future = new Date(Date.now() + 60_000).toISOString();
    await db.transaction(async (tx) => {
      await tx.execute(
        "UPDATE identity_pending SET claimed_by = 'dead-worker', claimed_until = ? WHERE customer_id = ?",
        [past, ids[0].id],
      );
      await tx.execute(
        "UPDATE identity_pending SET claimed_by = 'live-worker', claimed_until = ? WHERE customer_id = ?",
        [future, ids[1].id],
      );
    });
    const r = await detector.detectFor(actor);
    const left = await db.query('SELECT customer_id FROM identity_pending WHERE actor_id = ?', [actor.id]);
    if (target.type === 'postgres') {
      expect(r.processed).toBe(1);
      expect(left.map((x) => x.customer_id)).toEqual([ids[1].id]);
      // Once the live claim runs out, the row is taken too.
      await db.transaction((tx) =>
        tx.execute('UPDATE identity_pending SET claimed_until = ? WHERE customer_id = ?', [past, ids[1].id]),
      );
      expect((await detector.detectFor(actor)).processed).toBe(1);
    } else expect(r.processed).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  // A PostgreSQL batch claims its rows for CLAIM_MS and renews the claim while it works, so a batch slower than
  // the claim (a large one, a loaded machine) keeps its rows, while a worker that died holds them CLAIM_MS at most.
  it("renews a working batch's claim, so its rows are not taken while it outlasts the claim", async () => {
    const detector = env.app.get(DuplicateDetector);
    const knobs = detector as unknown as { claimMs: number; claimRenewMs: number };
    const planner = (detector as unknown as { planner: { score: (...a: unknown[]) => Promise<void> } })
      .planner;
    const ids = await db.query(
      'SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id LIMIT 2',
    );
    const actor = { type: ActorType.Cli, id: 'renewal-test' };
    await db.transaction((tx) => detector.enqueue(tx, [ids[0].id, ids[1].id], actor));
    const score = planner.score;
    const saved = { ...knobs };
    // The batch's scoring takes 2.5 s (the real scoring, started late); its claim lasts 1 s, renewed every 0.2 s.
    Object.assign(knobs, { claimMs: 1_000, claimRenewMs: 200 });
    planner.score = async (...a) => {
      await new Promise((r) => setTimeout(r, 2_500));
      return score.apply(planner, a);
    };
    let batch: Promise<unknown> | undefined;
    try {
      const started = Date.now();
      batch = detector.detectFor(actor);
      await new Promise((r) => setTimeout(r, 1_800));
      const rows = await db.query<{ claimed_by: string | null; claimed_until: string | null }>(
        'SELECT claimed_by, claimed_until FROM identity_pending WHERE actor_id = ?',
        [actor.id],
      );
      expect(rows).toHaveLength(2);
      if (target.type === 'postgres') {
        // 1.8 s after the claim, whose first expiry was 1 s after it: still claimed, with an expiry ahead.
        expect(Date.now() - started).toBeGreaterThan(1_000);
        for (const r of rows) {
          expect(r.claimed_by).toBeTruthy();
          expect(Date.parse(String(r.claimed_until))).toBeGreaterThan(Date.now());
        }
        // What another worker's batch would take now: none of them.
        const free = await db.query(
          'SELECT id FROM identity_pending WHERE actor_id = ? AND (claimed_until IS NULL OR claimed_until < ?)',
          [actor.id, new Date().toISOString()],
        );
        expect(free).toHaveLength(0);
      } else {
        // SQLite: one writer, a batch in one transaction; nothing is claimed.
        for (const r of rows) expect(r.claimed_by).toBeNull();
      }
      expect(((await batch) as { processed: number }).processed).toBe(2);
      expect(await count('SELECT COUNT(*) AS n FROM identity_pending WHERE actor_id = ?', [actor.id])).toBe(
        0,
      );
    } finally {
      // A failed expectation must not leave the batch running into the next test.
      await batch?.catch(() => undefined);
      planner.score = score;
      Object.assign(knobs, saved);
    }
  });

  // One process's PostgreSQL drain runs two batches side by side, as two workers would (each batch is round trips
  // more than work for this thread); SQLite has one writer, and a batch is one transaction there.
  it('runs two batches of a PostgreSQL drain side by side, and detects every customer once', async () => {
    const detector = env.app.get(DuplicateDetector);
    const inner = detector as unknown as { detectOnce: (...a: unknown[]) => Promise<{ processed: number }> };
    const ids = await db.query(
      'SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id DESC LIMIT 8',
    );
    const actor = { type: ActorType.Cli, id: 'lanes-test' };
    await db.transaction((tx) =>
      detector.enqueue(
        tx,
        ids.map((r) => r.id as string),
        actor,
      ),
    );
    const detectOnce = inner.detectOnce;
    let running = 0;
    let most = 0;
    let processed = 0;
    // Observed, not replaced: each batch's real detection runs.
    inner.detectOnce = async (...a) => {
      most = Math.max(most, ++running);
      try {
        const r = await detectOnce.apply(detector, a);
        processed += r.processed;
        return r;
      } finally {
        running--;
      }
    };
    try {
      expect((await detector.drain(2)).processed).toBe(8);
    } finally {
      inner.detectOnce = detectOnce;
    }
    expect(most).toBe(target.type === 'postgres' ? 2 : 1);
    expect(processed).toBe(8);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  /** The ids of the n newest live customers, newest first. */
  const newestLiveCustomers = async (n: number) =>
    (
      await db.query(
        `SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id DESC LIMIT ${n}`,
      )
    ).map((r) => r.id as string);

  /**
   * Holds customer rows in a transaction of its own (a page updating them, a push settling) until released, or
   * for 5 s at most. On SQLite it is the one writer, so everything else waits for it.
   */
  const holdRows = async (ids: string[]) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const done = db.transaction(async (tx) => {
      if (tx.dialect === 'postgres')
        await tx.query(
          `SELECT id FROM customers WHERE id IN (${ids.map(() => '?').join(',')}) FOR UPDATE`,
          ids,
        );
      else await tx.execute('UPDATE customers SET updated_at = updated_at WHERE id = ?', [ids[0]]);
      holding();
      await Promise.race([released, new Promise((r) => setTimeout(r, 5_000))]);
    });
    await held;
    return { release: async () => (release(), await done) };
  };

  // On PostgreSQL a drain's batch leaves a customer another transaction holds to a later batch instead of waiting
  // for it with the rest of its rows locked (batches of several workers queued behind each other that way), and
  // takes the others; the held one is detected once it is free. On SQLite the drain simply waits its turn.
  it('detects the free customers of a batch without waiting for one another transaction holds', async () => {
    const detector = env.app.get(DuplicateDetector);
    const ids = await newestLiveCustomers(3);
    await db.transaction((tx) => detector.enqueue(tx, ids, { type: ActorType.Cli, id: 'held-test' }));
    const holder = await holdRows([ids[0]]);
    const events: string[] = [];
    const drained = detector.drain().then((t) => (events.push('drained'), t));
    if (target.type === 'postgres') {
      const first = await drained;
      expect(first.processed).toBe(2);
      expect((await db.query('SELECT customer_id FROM identity_pending')).map((r) => r.customer_id)).toEqual([
        ids[0],
      ]);
      await holder.release();
      expect((await detector.drain()).processed).toBe(1);
    } else {
      await new Promise((r) => setTimeout(r, 100));
      events.push('released');
      await holder.release();
      expect((await drained).processed).toBe(3);
      expect(events).toEqual(['released', 'drained']);
    }
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  // PostgreSQL runs a drain's batches side by side (PG_DRAIN_LANES). A lane whose batch holds only customers another
  // transaction holds must not wait for them while the other lane works: it did, when the lanes' claims split the
  // queue that way (a CI run of the test above saw its first drain take the held customer after the holder gave up).
  // Batches of one row make every round split so: the held customer's row comes first in the queue.
  if (target.type === 'postgres')
    it('does not let one side-by-side batch wait for held customers while the other detects', async () => {
      const detector = env.app.get(DuplicateDetector);
      const ids = await newestLiveCustomers(3);
      for (const id of ids)
        await db.transaction((tx) => detector.enqueue(tx, [id], { type: ActorType.Cli, id: 'lanes-test' }));
      const holder = await holdRows([ids[0]]);
      try {
        const first = await Promise.race([
          detector.drain(1),
          new Promise<'waited'>((r) => setTimeout(() => r('waited'), 3_000)),
        ]);
        expect(first).toMatchObject({ processed: 2 });
        expect(
          (await db.query('SELECT customer_id FROM identity_pending')).map((r) => r.customer_id),
        ).toEqual([ids[0]]);
      } finally {
        await holder.release();
      }
      expect((await detector.drain()).processed).toBe(1);
      expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
    });

  // The same for an automatic merge: on PostgreSQL a pair one of whose customers another transaction holds is not
  // waited for inside the batch (which holds the merges it already made meanwhile); its changed customer is queued
  // again, still held back from its destinations, and the next batch scores the pair and merges it.
  it('leaves an automatic merge of a held pair to a later batch, which merges it', async () => {
    const detector = env.app.get(DuplicateDetector);
    const [x] = await db.query(
      'SELECT id FROM customers c WHERE merged_into IS NULL AND erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM merge_candidates m WHERE m.customer_a = c.id OR m.customer_b = c.id) ORDER BY id LIMIT 1',
    );
    const twin = randomUUID();
    await db.transaction(async (tx) => {
      await tx.execute(
        'INSERT INTO customers (id, version, email_key, fields, provenance, created_at, updated_at) SELECT ?, 1, NULL, fields, provenance, created_at, updated_at FROM customers WHERE id = ?',
        [twin, x.id],
      );
      await detector.enqueue(tx, [twin], { type: ActorType.Cli, id: 'held-pair' });
    });
    const live = () =>
      count('SELECT COUNT(*) AS n FROM customers WHERE id IN (?, ?) AND merged_into IS NULL', [x.id, twin]);
    const holder = await holdRows([x.id]);
    if (target.type === 'postgres') {
      const first = await detector.drain();
      expect(first.merged).toBe(0);
      expect(first.candidates).toBeGreaterThan(0);
      expect(await live()).toBe(2);
      // Still waiting for detection, so no push of the twin goes out before its merge.
      expect((await db.query('SELECT customer_id FROM identity_pending')).map((r) => r.customer_id)).toEqual([
        twin,
      ]);
      await holder.release();
      expect((await detector.drain()).merged).toBe(1);
    } else {
      const drained = detector.drain();
      await holder.release();
      expect((await drained).merged).toBe(1);
    }
    expect(await live()).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  // Two workers' batches at once, each holding one of two twins that have no block keys yet. On PostgreSQL both
  // batches are inside their writing step together (no cluster-wide turn), and still the pair is found: keys are
  // committed before neighbours are read, so the later reader sees the earlier writer's keys. Run in one
  // transaction each, both would have read neighbours before either's keys were visible and missed the pair; with
  // the former cluster-wide lock the second batch could not start before the first committed. On SQLite the
  // batches take turns (one writer), and the pair is found the same.
  it('finds a pair split across two batches running at once', async () => {
    const detector = env.app.get(DuplicateDetector);
    const [x] = await db.query(
      'SELECT id FROM customers c WHERE merged_into IS NULL AND erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM merge_candidates m WHERE m.customer_a = c.id OR m.customer_b = c.id) ORDER BY id DESC LIMIT 1',
    );
    // The twin: the same stored fields under a new id (no email key, so it is scored like any neighbour).
    const twin = randomUUID();
    await db.transaction(async (tx) => {
      await tx.execute(
        'INSERT INTO customers (id, version, email_key, fields, provenance, created_at, updated_at) SELECT ?, 1, NULL, fields, provenance, created_at, updated_at FROM customers WHERE id = ?',
        [twin, x.id],
      );
      await tx.execute('DELETE FROM customer_block_keys WHERE customer_id = ?', [x.id]);
      await detector.enqueue(tx, [x.id], { type: ActorType.Cli, id: 'twin-a' });
      await detector.enqueue(tx, [twin], { type: ActorType.Cli, id: 'twin-b' });
    });
    let inside = 0;
    let together = 0;
    let arrived!: () => void;
    const bothArrived = new Promise<void>((r) => (arrived = r));
    const write = detector.write.bind(detector);
    // Observed, not replaced: each batch's real write runs once both batches reached it (or after a while: on
    // SQLite they cannot).
    const spy = jest.spyOn(detector, 'write').mockImplementation(async (tx, plan, checked) => {
      together = Math.max(together, ++inside);
      if (inside === 2) arrived();
      await Promise.race([
        bothArrived,
        new Promise((r) => setTimeout(r, target.type === 'postgres' ? 5_000 : 50)),
      ]);
      try {
        return await write(tx, plan, checked);
      } finally {
        inside--;
      }
    });
    try {
      const [a, b] = await Promise.all([
        detector.detectFor({ type: ActorType.Cli, id: 'twin-a' }),
        detector.detectFor({ type: ActorType.Cli, id: 'twin-b' }),
      ]);
      expect([a.processed, b.processed]).toEqual([1, 1]);
    } finally {
      spy.mockRestore();
    }
    expect(together).toBe(target.type === 'postgres' ? 2 : 1);
    const [lo, hi] = [x.id, twin].sort();
    expect(
      await count('SELECT COUNT(*) AS n FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [
        lo,
        hi,
      ]),
    ).toBe(1);
    // Identical fields score above the auto-merge threshold: the twins are one customer now.
    expect(
      await count('SELECT COUNT(*) AS n FROM customers WHERE id IN (?, ?) AND merged_into IS NULL', [lo, hi]),
    ).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
  });

  // A merge changes its survivor, so the survivor is detected again. Here B and C are one person (one email) and A is
  // B's duplicate by phone; C never had a phone, so A and C agree on nothing the name does not give. In one batch
  // B merges into C first (the higher score), and A's merge with B then finds B gone: only the survivor, holding
  // B's phone now and checked again, merges A. Without the second check A stayed apart with a candidate nobody could
  // accept (409: B merged), shown in the review queue.
  it('checks a survivor again after a merge, so a duplicate of the loser merges into it', async () => {
    const repo = env.app.get(CustomerRepository);
    const detector = env.app.get(DuplicateDetector);
    const row = (id: string, fields: Record<string, string>) => customerRow(id, fields, true);
    const person = { firstName: 'Isolde', lastName: 'Varga-Thornquist' };
    const [c, b, a] = ['1', '2', '3'].map((n) => `eeeeeeee-0000-7000-8000-00000000000${n}`);
    const rows = [
      row(c, { ...person, company: 'Quillfeather Labs', email: 'isolde.vt@quillfeather.example' }),
      row(b, { ...person, email: 'isolde.vt@quillfeather.example', phone: '+4930555123456' }),
      row(a, { ...person, email: 'isolde.vt1987@mailbox.example', phone: '+4930555123456' }),
    ];
    await db.transaction(async (tx) => {
      await repo.insertCustomers(tx, rows);
      await detector.enqueue(tx, [a, b, c], { type: ActorType.Cli, id: 'merge-chain' });
    });
    await detector.drain();
    const live = await db.query('SELECT id FROM customers WHERE id IN (?, ?, ?) AND merged_into IS NULL', [
      a,
      b,
      c,
    ]);
    expect(live).toEqual([{ id: c }]);
    expect(await count('SELECT COUNT(*) AS n FROM identity_pending')).toBe(0);
    // The pair of A and B was scored above the threshold and never merged (B was gone): left out of the queue.
    const [ab] = await db.query(
      'SELECT id, status FROM merge_candidates WHERE customer_a = ? AND customer_b = ?',
      [b, a],
    );
    expect(ab).toMatchObject({ status: 'pending' });
    const queue = await env.app
      .get(MergeCandidatesService)
      .list({ status: CandidateStatus.Pending, limit: 500 });
    expect(queue.candidates.map((x) => x.id)).not.toContain(Number(ab.id));
    expect(
      queue.candidates.every((x) => ![a, b, c].includes(x.customerA) && ![a, b, c].includes(x.customerB)),
    ).toBe(true);
  });

  // A survivor checked again can merge on into another customer: Z into Y, then Y into X. Undoing Z's merge first
  // would bring Y back without the identities and destinations X now holds (and move Z's away from X): refused until
  // Y's own merge is undone.
  it('undoes the merges of a chain from its last link back, refusing the first link while its survivor is merged', async () => {
    const repo = env.app.get(CustomerRepository);
    const merges = env.app.get(MergeService);
    const actor = { type: ActorType.Cli, id: 'merge-chain-undo' };
    const [x, y, z] = ['1', '2', '3'].map((n) => `dddddddd-0000-7000-8000-00000000000${n}`);
    const person = { firstName: 'Perpetua', lastName: 'Oyelaran-Fitch' };
    await db.transaction((tx) =>
      repo.insertCustomers(tx, [
        customerRow(x, { ...person, email: 'perpetua@x.example' }, true),
        customerRow(y, { ...person, email: 'perpetua@y.example' }, true),
        customerRow(z, { ...person, email: 'perpetua@z.example' }, true),
      ]),
    );
    await db.transaction((tx) =>
      repo.insertIdentities(
        tx,
        [x, y, z].map((id) => ({
          connection: 'salesforce',
          object: 'Contact',
          externalId: `chain-${id}`,
          customerId: id,
          createdAt: new Date().toISOString(),
        })),
      ),
    );
    const candidate = async (a: string, b: string) => {
      const now = new Date().toISOString();
      await db.query(
        "INSERT INTO merge_candidates (customer_a, customer_b, score, explanation, block_key, status, created_at, updated_at) VALUES (?, ?, 0.99, '{\"fields\":[]}', 'test', 'pending', ?, ?)",
        [a, b, now, now],
      );
      return Number(
        (await db.query('SELECT id FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [a, b]))[0]
          .id,
      );
    };
    const yz = await candidate(y, z);
    await db.transaction((tx) => merges.merge(tx, yz, MergeReason.Reviewed, actor));
    const xy = await candidate(x, y);
    await db.transaction((tx) => merges.merge(tx, xy, MergeReason.Reviewed, actor));
    expect(await repo.identitiesOf(x)).toHaveLength(3);
    await expect(db.transaction((tx) => merges.unmerge(tx, yz, actor))).rejects.toThrow(
      /undo that merge first/,
    );
    expect(await repo.identitiesOf(x)).toHaveLength(3);
    await db.transaction((tx) => merges.unmerge(tx, xy, actor));
    await db.transaction((tx) => merges.unmerge(tx, yz, actor));
    const live = await db.query(
      'SELECT id FROM customers WHERE id IN (?, ?, ?) AND merged_into IS NULL ORDER BY id',
      [x, y, z],
    );
    expect(live.map((r) => r.id)).toEqual([x, y, z]);
    for (const id of [x, y, z])
      expect((await repo.identitiesOf(id)).map((i) => i.externalId)).toEqual([`chain-${id}`]);
    // Each is checked for duplicates again from its own values (the undone pairs are never proposed again).
    expect(
      (
        await db.query('SELECT DISTINCT customer_id FROM identity_pending WHERE customer_id IN (?, ?, ?)', [
          x,
          y,
          z,
        ])
      )
        .map((r) => r.customer_id)
        .sort(),
    ).toEqual([x, y, z]);
    await detector().drain();
    expect(
      await count('SELECT COUNT(*) AS n FROM customers WHERE id IN (?, ?, ?) AND merged_into IS NULL', [
        x,
        y,
        z,
      ]),
    ).toBe(3);
  });

  // Two live customers holding one email (a merge moved an address away and a Salesforce edit brought it back while
  // another customer had taken it: 45 such pairs in a 1,000,000-contact run). The same email key is the writer's
  // identity rule, so they are merged whatever else differs; found only through the blocks, they were missed when
  // the mailbox block was longer than MAX_BLOCK (a common local part at many domains, lowest ids first) and nothing
  // else was shared, and each kept pushing the address to SendGrid, which refused the second.
  it('merges two live customers holding one email key, however long their mailbox block', async () => {
    const repo = env.app.get(CustomerRepository);
    const detector = env.app.get(DuplicateDetector);
    const actor = { type: ActorType.Cli, id: 'same-email-key' };
    const row = (id: string, fields: Record<string, string>) => customerRow(id, fields);
    // Unrelated names (no filler is anyone's duplicate): letters from a fixed sequence.
    const word = (seed: number, n: number) => {
      let v = seed * 2654435761 + 12345;
      let out = '';
      for (let k = 0; k < n; k++) {
        v = (v * 1103515245 + 12345) % 2147483648;
        out += String.fromCharCode(97 + (v % 26));
      }
      return out[0].toUpperCase() + out.slice(1);
    };
    // Other people's mailboxes of that local part at other domains, with lower ids: they fill the block's first
    // MAX_BLOCK + 1.
    const fillers = Array.from({ length: MAX_BLOCK + 5 }, (_, i) =>
      row(`00000000-0000-7000-8000-${String(i).padStart(12, '0')}`, {
        email: `quillonby@domain${i}.example`,
        firstName: word(i, 6),
        lastName: word(i + 1000, 9),
      }),
    );
    const x = row('ffffffff-0000-7000-8000-000000000001', {
      email: 'quillonby@example.org',
      firstName: 'Ottoline',
      lastName: 'Brackwater',
    });
    const y = row('ffffffff-0000-7000-8000-000000000002', {
      email: 'Quillonby@Example.org',
      firstName: 'Benedikt',
      lastName: 'Sorrelwick',
    });
    expect(x.emailKey).toBe(y.emailKey);
    await db.transaction(async (tx) => {
      await repo.insertCustomers(tx, fillers);
      await detector.enqueue(
        tx,
        fillers.map((f) => f.id),
        actor,
      );
    });
    await detector.drain();
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM customers WHERE id LIKE '00000000-0000-7000-8000-%' AND merged_into IS NULL",
      ),
    ).toBe(fillers.length);
    await db.transaction(async (tx) => {
      await repo.insertCustomers(tx, [x, y]);
      await detector.enqueue(tx, [x.id, y.id], actor);
    });
    const result = await detector.drain();
    expect(result.merged).toBe(1);
    const live = await db.query('SELECT id FROM customers WHERE id IN (?, ?) AND merged_into IS NULL', [
      x.id,
      y.id,
    ]);
    expect(live).toHaveLength(1);
    const [cand] = await db.query(
      'SELECT score, block_key, status FROM merge_candidates WHERE customer_a = ? AND customer_b = ?',
      [x.id, y.id],
    );
    expect(cand).toMatchObject({ block_key: 'email-key', status: 'merged' });
    expect(Number(cand.score)).toBe(1);
  });
});

describe(`duplicate detection across workers (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 60,
      env: {
        ...testDatabaseEnv(target),
        LOG_LEVEL: 'silent',
        SYNCLINE_BACKGROUND_JOBS: 'off',
        SYNCLINE_IDENTITY_MODE: 'review',
      },
    });
    for (const sb of [env.salesforce, env.hubspot, env.sendgrid]) sb.webhooks.configure({ enabled: false });
    db = env.app.get(Database);
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it("compares with a neighbour's current values, not the profile it remembered, once another worker changed it", async () => {
    const repo = env.app.get(CustomerRepository);
    const mine = env.app.get(DuplicateDetector);
    // A second worker's detector: same database, its own memory.
    const other = new DuplicateDetector(
      db,
      repo,
      env.app.get(MergeService),
      env.app.get(EmailKeyer),
      env.app.get(Clock),
      env.app.get(AppConfig),
    );
    const actor = { type: ActorType.Cli, id: 'test' };
    const live = await db.query<{ id: string }>(
      'SELECT c.id FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM merge_candidates m WHERE m.customer_a = c.id OR m.customer_b = c.id) ORDER BY c.id',
    );
    const rows = await repo.loadMany(
      db,
      live.map((r) => r.id),
    );
    const withPhone = [...rows.values()].filter((c) => c.fields.phone && c.fields.lastName && c.fields.email);
    const [target, neighbour] = [withPhone[0], withPhone[withPhone.length - 1]];
    // This worker checks the neighbour and remembers its profile.
    await db.transaction((tx) => mine.enqueue(tx, [neighbour.id], actor));
    await mine.drain();
    // Another worker changes it into a near twin of the target (another mailbox) and checks it.
    const pair = [target.id, neighbour.id].sort();
    await db.transaction(async (tx) => {
      const changed = {
        ...neighbour,
        version: neighbour.version + 1,
        fields: { ...target.fields, email: `other.${String(target.fields.email)}` },
      };
      await repo.updateCustomer(tx, changed, neighbour.version);
      await other.enqueue(tx, [neighbour.id], actor);
    });
    await other.drain();
    const candidate = () =>
      db.query('SELECT score FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', pair);
    expect(await candidate()).toHaveLength(1);
    // Forget that pair; this worker now checks the target, whose neighbour it remembers with its old values.
    await db.query('DELETE FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', pair);
    await db.transaction((tx) => mine.enqueue(tx, [target.id], actor));
    await mine.drain();
    const [found] = await candidate();
    expect(Number(found?.score)).toBeGreaterThanOrEqual(mine.settings.reviewFloor);
    await other.onModuleDestroy();
  });
});
