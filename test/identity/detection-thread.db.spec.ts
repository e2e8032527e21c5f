// Duplicate detection on its own thread, on the database under test: on a SQLite file the thread plans whole
// batches (detection-thread.spec.ts covers that path in depth); on PostgreSQL the engine claims each batch and
// writes its keys, and the thread scores it on a connection of its own. Either way a drain finds the same pairs
// as on the engine's thread, and keeps detecting there if the thread dies.
import { ActorType, type Actor } from '../../src/audit/audit.types';
import { CustomerWriter, type InboundRecord } from '../../src/canonical/customer-writer.service';
import type { DetectionThread } from '../../src/identity/detection-thread';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { Database } from '../../src/store/database';
import { candidatePair, personMaker } from '../support/detection-people';
import { startTestApp, type TestApp } from '../support/test-app';
import { testDatabaseTarget } from '../support/test-database';

const run: Actor = { type: ActorType.SyncRun, id: 'run-thread' };

const person = personMaker('Grace', 'Computing', '003T');

describe(`duplicate detection on its own thread (${testDatabaseTarget().type})`, () => {
  let t: TestApp;
  let db: Database;
  let detector: DuplicateDetector;
  let writer: CustomerWriter;

  const create = async (...records: InboundRecord[]): Promise<string[]> =>
    db.transaction(async (tx) => {
      const ids = (await writer.apply(tx, records, { actor: run })).map((o) => o.customerId);
      await detector.enqueue(tx, ids, run);
      return ids;
    });
  const pairOf = (x: string, y: string) => candidatePair(db, x, y);
  const pending = async () => Number((await db.query('SELECT COUNT(*) AS n FROM identity_pending'))[0].n);

  beforeAll(async () => {
    // Review mode: candidates are kept as pending pairs to look at.
    t = await startTestApp({ SYNCLINE_IDENTITY_MODE: 'review', SYNCLINE_DETECTION_THREAD: 'on' });
    db = t.app.get(Database);
    detector = t.app.get(DuplicateDetector);
    writer = t.app.get(CustomerWriter);
  });
  afterAll(() => t.close());

  it('detects on the thread: duplicates in one batch and across batches are paired, nothing is left pending', async () => {
    const before = detector.threadPlans;
    const [a, b] = await create(person('Hopper', 'grace'), person('Hopper', 'g.hopper'));
    const [loner] = await create(person('Brewster', 'brewster'));
    expect(await detector.drain()).toMatchObject({ processed: 3, candidates: 1 });
    expect(detector.threaded).toBe(true);
    expect(detector.threadPlans).toBeGreaterThan(before);
    expect(await pairOf(a, b)).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(
      await db.query('SELECT 1 FROM merge_candidates WHERE customer_a = ? OR customer_b = ?', [loner, loner]),
    ).toEqual([]);
    // A twin arriving in a later batch finds the first, whose keys are committed.
    const [c] = await create(person('Hopper', 'hopper.grace'));
    expect(await detector.drain()).toMatchObject({ processed: 1, candidates: 2 });
    expect(await pairOf(a, c)).toHaveLength(1);
    expect(await pairOf(b, c)).toHaveLength(1);
    expect(await pending()).toBe(0);
    expect(detector.threadFailures).toEqual([]);
  });

  it("goes on detecting on the engine's thread when the detection thread dies", async () => {
    const thread = (detector as unknown as { detectionThread(): DetectionThread | null }).detectionThread()!;
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const [i, j] = await create(person('Kelvin', 'kelvin'), person('Kelvin', 'w.kelvin'));
    expect(await detector.drain()).toMatchObject({ processed: 2, candidates: 1 });
    expect(detector.threaded).toBe(false);
    expect(await pairOf(i, j)).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(await pending()).toBe(0);
  });
});
