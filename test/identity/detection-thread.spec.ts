// Duplicate detection planned on its own thread (SQLite files): what the thread read is checked before its plan is
// written, and a plan that may have missed another batch's block keys is not written at all. On a SQLite file
// whatever DATABASE_URL says: these are the file's plans (a WAL snapshot, the checkpoints); the thread's PostgreSQL
// scoring has its own suite, detection-thread.db.spec.ts.
import { ActorType, type Actor } from '../../src/audit/audit.types';
import { CustomerWriter, type InboundRecord } from '../../src/canonical/customer-writer.service';
import type { DetectionPlan, DetectionPlanner } from '../../src/identity/detection-planner';
import type { DetectionThread } from '../../src/identity/detection-thread';
import Sqlite from 'better-sqlite3';
import * as os from 'node:os';
import {
  AUTO_THREAD_BACKLOG,
  AUTO_THREAD_CORES,
  DuplicateDetector,
} from '../../src/identity/duplicate-detector.service';
import { Database } from '../../src/store/database';
import { WalCheckpointer } from '../../src/store/wal-checkpointer';
import { candidatePair, personMaker } from '../support/detection-people';
import { sqliteTestTarget } from '../support/test-database';
import { startTestApp, type TestApp } from '../support/test-app';

const run: Actor = { type: ActorType.SyncRun, id: 'run-1' };
const webhook: Actor = { type: ActorType.Webhook, id: 'delivery-1' };

const person = personMaker('Augusta', 'Engines');

describe('duplicate detection on its own thread (sqlite file)', () => {
  let t: TestApp;
  let db: Database;
  let detector: DuplicateDetector;
  let writer: CustomerWriter;

  const create = async (actor: Actor, ...records: InboundRecord[]): Promise<string[]> =>
    db.transaction(async (tx) => {
      const ids = (await writer.apply(tx, records, { actor })).map((o) => o.customerId);
      await detector.enqueue(tx, ids, actor);
      return ids;
    });
  const pairOf = (x: string, y: string) => candidatePair(db, x, y);
  const keysOf = async (id: string) =>
    (await db.query('SELECT block_key FROM customer_block_keys WHERE customer_id = ?', [id])).length;
  const pendingOf = async (id: string) =>
    Number((await db.query('SELECT COUNT(*) AS n FROM identity_pending WHERE customer_id = ?', [id]))[0].n);
  const thread = () =>
    (detector as unknown as { detectionThread(): DetectionThread | null }).detectionThread()!;

  beforeAll(async () => {
    // Review mode: candidates are kept as pending pairs, so each test can look at them.
    t = await startTestApp(
      { SYNCLINE_IDENTITY_MODE: 'review', SYNCLINE_DETECTION_THREAD: 'on' },
      sqliteTestTarget(),
    );
    db = t.app.get(Database);
    detector = t.app.get(DuplicateDetector);
    writer = t.app.get(CustomerWriter);
  });
  afterAll(() => t.close());

  it('plans drain batches on the thread and pairs duplicates that arrive in the same batch', async () => {
    const [a, b] = await create(run, person('Lovelace', 'ada'), person('Lovelace', 'a.lovelace'));
    const totals = await detector.drain();
    expect(detector.threaded).toBe(true);
    expect(totals).toMatchObject({ processed: 2, candidates: 1 });
    // Neither had block keys when the plan read the database: the batch's own keys are laid over what it read.
    expect(await pairOf(a, b)).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(await keysOf(a)).toBeGreaterThan(0);
    expect(await keysOf(b)).toBeGreaterThan(0);
    expect(await pendingOf(a)).toBe(0);
  });

  it("makes the next plan while one is written: other pending rows, and the written one's keys seen as written", async () => {
    // Batches of one: the twin's plan is made while the first one's write waits, before its keys are committed.
    const [a, b, c] = await create(
      run,
      person('Fairfax', 'mary.f'),
      person('Fairfax', 'm.fairfax'),
      person('Fairfax', 'fairfax.m'),
    );
    const totals = await detector.drain(1);
    expect(totals.processed).toBe(3);
    expect(await pairOf(a, b)).toHaveLength(1);
    expect(await pairOf(a, c)).toHaveLength(1);
    expect(await pairOf(b, c)).toHaveLength(1);
  });

  it('writes nothing of a plan for a customer changed after the plan read it, and detects it again', async () => {
    const record = person('Babbage', 'charles');
    const [c] = await create(run, record);
    const plan = await thread().plan(500, detector.settings.reviewFloor);
    expect(plan.touched.map((x) => x.id)).toEqual([c]);
    // A page changes the customer between the plan and its write (and, unlike a sync page, queues nothing).
    const edit = {
      ...record.change,
      sourceTimestamp: '2026-02-01T00:00:00.000Z',
      fields: { ...record.change.fields, lastName: 'Babbage-King' },
    };
    await db.transaction((tx) => writer.apply(tx, [{ ...record, change: edit }], { actor: run }));
    const r = await db.transaction((tx) => detector.write(tx, plan, true));
    thread().written(plan);
    expect(r.processed).toBe(1);
    expect(await keysOf(c)).toBe(0);
    expect(await pendingOf(c)).toBe(1);
    await detector.drain();
    expect(await keysOf(c)).toBeGreaterThan(0);
    expect(await pendingOf(c)).toBe(0);
  });

  it('keeps no pair with a customer merged away or erased after the plan read it', async () => {
    const [d, e, f] = await create(
      run,
      person('Somerville', 'mary'),
      person('Somerville', 'm.somerville'),
      person('Somerville', 'mary.s'),
    );
    const plan = await thread().plan(500, detector.settings.reviewFloor);
    expect(plan.pairs.length).toBeGreaterThan(0);
    // Merged away and erased elsewhere (the API, another worker) while the plan was on its way.
    await db.query('UPDATE customers SET merged_into = ? WHERE id = ?', [d, e]);
    await db.query("UPDATE customers SET erased_at = '2026-01-02T00:00:00.000Z' WHERE id = ?", [f]);
    await db.transaction((tx) => detector.write(tx, plan, true));
    thread().written(plan);
    expect(await pairOf(d, e)).toEqual([]);
    expect(await pairOf(d, f)).toEqual([]);
    expect(await pairOf(e, f)).toEqual([]);
    expect(await keysOf(d)).toBeGreaterThan(0);
    expect(await keysOf(e)).toBe(0);
    expect(await keysOf(f)).toBe(0);
  });

  it("does not write a plan made before another batch's keys were committed: the batch is detected in its transaction", async () => {
    const th = thread();
    const plan = th.plan.bind(th);
    let g = '';
    let h = '';
    // Between this plan and its write, a webhook's customer is created and detected on the engine's thread (as
    // webhook processing does): its keys are written, but the planned customer's are not yet, so neither batch
    // sees the other. Written as planned, the pair would be lost.
    th.plan = async (limit, floor) => {
      const p = await plan(limit, floor);
      th.plan = plan;
      [h] = await create(webhook, person('Herschel', 'caroline.h'));
      await detector.detectFor(webhook);
      return p;
    };
    [g] = await create(run, person('Herschel', 'caroline'));
    await detector.drain();
    expect(await pairOf(g, h)).toEqual([expect.objectContaining({ status: 'pending' })]);
  });

  it('plans a batch in parts as it would whole: the same keys and pairs, its later parts seeing the earlier ones', async () => {
    // Three people with three records each (no two share a mailbox), in one batch; names and phones no other test uses.
    const families = ['Curie', 'Blackwell', 'Kovalevskaya'];
    await create(
      run,
      ...families.flatMap((f) => [person(f, `${f}.a`), person(f, `${f[0]}.${f}`), person(f, `${f}1`)]),
    );
    const planner = (detector as unknown as { planner: DetectionPlanner }).planner;
    const floor = detector.settings.reviewFloor;
    // Both on one snapshot (read only), in one transaction rolled back.
    const [whole, inParts] = await db
      .transaction(async (tx) => {
        const r = [await planner.plan(tx, 100, floor), await planner.plan(tx, 100, floor, undefined, [], 2)];
        throw Object.assign(new Error('rollback'), { r });
      })
      .catch((e: { r: DetectionPlan[] }) => e.r);
    const rows = (x: [string, string][]) => x.map((k) => k.join('|')).sort();
    const pairs = (p: DetectionPlan) => p.pairs.map((x) => `${x.a}|${x.b}|${x.s.score.toFixed(6)}`).sort();
    expect(whole.pendingIds).toHaveLength(9);
    expect([...inParts.pendingIds].sort()).toEqual([...whole.pendingIds].sort());
    expect(inParts.touched.map((x) => x.id).sort()).toEqual(whole.touched.map((x) => x.id).sort());
    expect(rows(inParts.added)).toEqual(rows(whole.added));
    expect(rows(inParts.removed)).toEqual(rows(whole.removed));
    // Three pairs per family; a part sees the customers of the parts before it (their keys laid over the read).
    expect(pairs(whole)).toHaveLength(9);
    expect(pairs(inParts)).toEqual(pairs(whole));
    // A part's customers are compared with the earlier parts' from their side only.
    expect(inParts.compared).toBeLessThan(whole.compared);
    expect(inParts.compared).toBeGreaterThanOrEqual(9);
    await detector.drain();
  });

  it("goes on detecting on the engine's thread when the detection thread dies", async () => {
    await (thread() as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const [i, j] = await create(run, person('Noether', 'emmy'), person('Noether', 'e.noether'));
    await detector.drain();
    expect(detector.threaded).toBe(false);
    expect(await pairOf(i, j)).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(await pendingOf(i)).toBe(0);
  });
});

describe('SYNCLINE_DETECTION_THREAD=auto (sqlite file)', () => {
  let t: TestApp;
  let db: Database;
  let detector: DuplicateDetector;
  let writer: CustomerWriter;

  beforeAll(async () => {
    t = await startTestApp(
      { SYNCLINE_IDENTITY_MODE: 'review', SYNCLINE_DETECTION_THREAD: 'auto' },
      sqliteTestTarget(),
    );
    db = t.app.get(Database);
    detector = t.app.get(DuplicateDetector);
    writer = t.app.get(CustomerWriter);
    // As on a machine with AUTO_THREAD_CORES or more (the last test puts the rule back).
    cores(1);
  });
  const cores = (n: number) => ((detector as unknown as { autoThreadCores: number }).autoThreadCores = n);
  afterAll(() => t.close());

  const create = (records: InboundRecord[]) =>
    db.transaction(async (tx) => {
      const ids = (await writer.apply(tx, records, { actor: run })).map((o) => o.customerId);
      await detector.enqueue(tx, ids, run);
      return ids;
    });
  const pending = async () => Number((await db.query('SELECT COUNT(*) AS n FROM identity_pending'))[0].n);

  it("keeps a small backlog (an incremental's, a webhook batch's) on the engine's thread", async () => {
    const [a, b] = await create([person('Hopper', 'grace'), person('Hopper', 'g.hopper')]);
    const totals = await detector.drain();
    expect(totals).toMatchObject({ processed: 2, candidates: 1 });
    expect(detector.threaded).toBe(false);
    const [x, y] = a < b ? [a, b] : [b, a];
    expect(
      await db.query('SELECT status FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [x, y]),
    ).toEqual([{ status: 'pending' }]);
  });

  it("hands a backlog that grows during a drain (a sync's pages) to the thread", async () => {
    // The drain starts on the engine's thread with a small backlog, in batches of one; pages then arrive while it
    // works, as they do in a sync.
    await create([person('Meitner', 'lise'), person('Meitner', 'l.meitner'), person('Franklin', 'rosalind')]);
    const drained = detector.drain(1);
    const pages = [];
    for (let p = 0; p < 4; p++)
      pages.push(
        create(
          Array.from({ length: AUTO_THREAD_BACKLOG / 4 }, (_, i) =>
            person(`Page${p}x${i}`, `page${p}.${i}`, {
              firstName: `Given${p}x${i}`,
              phone: `+44 161 ${String(1_000_000 + p * 10_000 + i).slice(1)}`,
            }),
          ),
        ),
      );
    await Promise.all(pages);
    const totals = await drained;
    expect(detector.threaded).toBe(true);
    expect(totals.processed).toBe(AUTO_THREAD_BACKLOG + 3);
    expect(await pending()).toBe(0);
  }, 60_000);

  it("hands a full sync's backlog to the thread, and detects all of it", async () => {
    // Distinct people (no shared name, phone or company), plus one pair of twins among them.
    const people = Array.from({ length: AUTO_THREAD_BACKLOG }, (_, i) =>
      person(`Person${i}`, `p${i}`, {
        firstName: `First${i}`,
        phone: `+44 20 7${String(1_000_000 + i).slice(1)}`,
      }),
    );
    const ids = await create([...people, person('Lamarr', 'hedy'), person('Lamarr', 'h.lamarr')]);
    expect(await pending()).toBe(AUTO_THREAD_BACKLOG + 2);
    const totals = await detector.drain();
    expect(detector.threaded).toBe(true);
    expect(totals.processed).toBe(AUTO_THREAD_BACKLOG + 2);
    expect(await pending()).toBe(0);
    const [a, b] = ids.slice(-2);
    const [x, y] = a < b ? [a, b] : [b, a];
    expect(
      await db.query('SELECT status FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [x, y]),
    ).toEqual([{ status: 'pending' }]);
  }, 60_000);
  it('closes the thread once it has been idle, and starts a new one for the next large backlog', async () => {
    (detector as unknown as { threadIdleMs: number }).threadIdleMs = 100;
    const batch = (tag: string) =>
      Array.from({ length: AUTO_THREAD_BACKLOG }, (_, i) =>
        person(`${tag}${i}`, `${tag}.${i}`, {
          firstName: `${tag}Given${i}`,
          phone: `+44 131 ${String(1_000_000 + i).slice(1)}`,
          company: `${tag} Works ${i}`,
        }),
      );
    await create(batch('Idle'));
    await detector.drain();
    expect(detector.threaded).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(detector.threaded).toBe(false);
    await create(batch('Again'));
    const totals = await detector.drain();
    expect(detector.threaded).toBe(true);
    expect(totals.processed).toBe(AUTO_THREAD_BACKLOG);
    expect(await pending()).toBe(0);
  }, 60_000);
  it("plans on the engine's thread while the WAL is long, so the WAL can start over", async () => {
    (detector as unknown as { walHandbackFrames: number }).walHandbackFrames = 50;
    const checkpointer = t.app.get(WalCheckpointer);
    const handbacks = detector.walHandbacks;
    // Another reader holds a snapshot, as the thread does plan after plan on a long backlog: what is written after
    // it is never copied back, and the WAL cannot start over.
    const reader = new Sqlite((db.dataSource.options as { database: string }).database, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM customers').get();
    const people = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) =>
        person(`${tag}${i}`, `${tag}.${i}`, {
          firstName: `${tag}Given${i}`,
          phone: `+44 117 ${String(1_000_000 + i).slice(1)}`,
          company: `${tag} Works ${i}`,
        }),
      );
    await create(people('Wal', AUTO_THREAD_BACKLOG));
    // The next checkpoint tick (CHECKPOINT_INTERVAL_MS) reports the WAL it could not copy back.
    let long = 0;
    for (let i = 0; i < 50 && long <= 50; i++) {
      await new Promise((r) => setTimeout(r, 200));
      long = (await checkpointer.stats())!.walFrames;
    }
    expect(long).toBeGreaterThan(50);
    reader.exec('COMMIT');
    reader.close();
    const remembered = () =>
      (detector as unknown as { planner: { profiles: { size: number } } }).planner.profiles.size;
    const before = remembered();
    const totals = await detector.drain();
    expect(totals.processed).toBe(AUTO_THREAD_BACKLOG);
    expect(await pending()).toBe(0);
    // A backlog the thread would have planned went to the engine's batches instead.
    expect(detector.walHandbacks).toBeGreaterThan(handbacks);
    // They were the thread's drain: the engine's planner kept none of their profiles (the thread keeps its own).
    expect(remembered()).toBe(before);
    // No reader left: a checkpoint copies everything back, the next write starts the WAL over, and the tick after
    // reports it short. Ticks are CHECKPOINT_INTERVAL_MS apart (longer on a loaded machine, where CI runs suites
    // side by side), so each step waits for the next tick, up to 40 s in all.
    const nextTick = async () => {
      const runs = (await checkpointer.stats())!.runs;
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const s = (await checkpointer.stats())!;
        if (s.runs > runs) return s;
      }
      throw new Error('no checkpoint tick in 20 s');
    };
    let s = await nextTick();
    if (s.checkpointedFrames < s.walFrames) s = await nextTick();
    expect(s.checkpointedFrames).toBe(s.walFrames);
    await create(people('Tail', 1));
    expect((await nextTick()).walFrames).toBeLessThan(50);
    // A drain of the engine's own (a small backlog) keeps its profiles.
    await detector.drain();
    expect(remembered()).toBeGreaterThan(before);
  }, 60_000);
  it("keeps even a large backlog on the engine's thread with fewer cores than AUTO_THREAD_CORES", async () => {
    cores(Math.max(AUTO_THREAD_CORES, os.availableParallelism() + 1));
    await detector.drain(); // what the last test left pending
    // A thread of the tests before closes once idle.
    for (let i = 0; i < 100 && detector.threaded; i++) await new Promise((r) => setTimeout(r, 50));
    expect(detector.threaded).toBe(false);
    await create(
      Array.from({ length: AUTO_THREAD_BACKLOG }, (_, i) =>
        person(`Few${i}`, `few.${i}`, {
          firstName: `FewGiven${i}`,
          phone: `+44 113 ${String(1_000_000 + i).slice(1)}`,
          company: `Few Works ${i}`,
        }),
      ),
    );
    const totals = await detector.drain();
    expect(detector.threaded).toBe(false);
    expect(totals.processed).toBe(AUTO_THREAD_BACKLOG);
    expect(await pending()).toBe(0);
  }, 60_000);
});
