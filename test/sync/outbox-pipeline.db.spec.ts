// A drainer keeps up to OUTBOX_PUSH_CONCURRENCY batches in flight: the next batch is selected, prepared and sent
// while the vendor works on the previous one. These tests run the real drain against the SendGrid sandbox and only
// observe the connector's calls (each spy calls through to the SDK).
import { ConnectorRegistry } from '../../src/connectors/connector.registry';
import type { Connector } from '../../src/connectors/connector.types';
import type { CustomerRow } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { OutboxOp, RunTrigger } from '../../src/sync/sync.types';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { SyncScheduler } from '../../src/sync/sync-scheduler.service';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { mergeTakingLoserEmail, mergeTakingLoserEmailOf, pendingSendGridPair } from '../support/merge-pair';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`outbound batches in flight together (${target.type})`, () => {
  let env: Environment;
  let sendgrid: Connector;
  // The full sync of beforeAll, as seen at SendGrid's connector: writes in flight at most at once, and every key.
  let run: Awaited<ReturnType<SyncRunner['run']>>;
  let most = 0;
  let writeCalls = 0;
  const written: string[] = [];
  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 3_000,
      env: {
        ...testDatabaseEnv(target),
        LOG_LEVEL: 'silent',
        SYNCLINE_IDENTITY_MODE: 'review',
        OUTBOX_PUSH_CONCURRENCY: '2',
      },
      defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    sendgrid = env.app.get(ConnectorRegistry).get('sendgrid');
    const write = sendgrid.write.bind(sendgrid);
    let now = 0;
    let secondInFlight!: () => void;
    const second = new Promise<void>((r) => (secondInFlight = r));
    // Observed, not replaced. The first batch waits (up to 5 s) for a second one to be in flight beside it: on a
    // loaded machine it could otherwise be done before the next batch was selected, and nothing would overlap.
    const spy = jest.spyOn(sendgrid, 'write').mockImplementation(async (ctx, object, items) => {
      now++;
      writeCalls++;
      most = Math.max(most, now);
      if (now === 2) secondInFlight();
      written.push(...items.map((i) => i.key));
      if (writeCalls === 1) await Promise.race([second, new Promise((r) => setTimeout(r, 5_000))]);
      try {
        return await write(ctx, object, items);
      } finally {
        now--;
      }
    });
    env.sendgrid.setJobDelay(150); // each import job takes a while, as SendGrid's do
    try {
      run = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    } finally {
      spy.mockRestore();
      env.sendgrid.setJobDelay(20);
    }
  }, 180_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await env?.close();
    await dropTestDatabase(target);
  });

  it('sends two batches at once; every contact reaches SendGrid once, written again only for a newer version', async () => {
    expect(run.status).toBe('succeeded');
    expect(writeCalls).toBeGreaterThanOrEqual(3); // more than one batch to overlap
    expect(most).toBe(2);
    const db = env.app.get(Database);
    // A customer is written again only for a newer version (a later page changed it after its push), never twice
    // for the same: no more writes than versions.
    const writes = new Map<string, number>();
    for (const k of written) writes.set(k, (writes.get(k) ?? 0) + 1);
    for (const [id, n] of writes) {
      if (n === 1) continue;
      const [c] = await db.query<{ version: number }>('SELECT version FROM customers WHERE id = ?', [id]);
      expect(Number(c.version)).toBeGreaterThanOrEqual(n);
    }
    // SendGrid holds exactly the contacts tracked for live customers.
    const tracked = await db.query<{ customer_id: string }>(
      "SELECT customer_id FROM destination_state WHERE connection = 'sendgrid' AND external_id IS NOT NULL",
    );
    const atSg = env.sendgrid.state().records as { external_id: string }[];
    expect(atSg.length).toBe(tracked.length);
    expect(new Set(atSg.map((r) => r.external_id))).toEqual(new Set(written));
    expect(new Set(tracked.map((r) => r.customer_id))).toEqual(new Set(written));
    expect(await db.query("SELECT id FROM outbox WHERE status IN ('pending', 'dead')")).toEqual([]);
    expect(run.counts.sent).toBe(written.length);
  });

  /** Spies on the drain's selections (rows with their loser deletes), calling through; `after` sees each one. */
  function spySelections(after: (rows: { customer_id: string }[]) => Promise<void>) {
    const outbox = env.app.get(OutboxService);
    const o = outbox as unknown as {
      withLoserDeletes: (...a: unknown[]) => Promise<{ customer_id: string }[]>;
    };
    const withLoserDeletes = o.withLoserDeletes.bind(outbox);
    return jest.spyOn(o, 'withLoserDeletes').mockImplementation(async (...a: unknown[]) => {
      const rows = await withLoserDeletes(...a);
      await after(rows);
      return rows;
    });
  }

  /** Nothing left to send, the loser's contact gone, and the survivor alone at SendGrid with the loser's email. */
  async function expectSurvivorTookLoserContact(pair: {
    survivor: CustomerRow;
    loser: CustomerRow;
    loserContact: string;
  }) {
    const { survivor, loser, loserContact } = pair;
    expect(
      await env.app.get(Database).query("SELECT id FROM outbox WHERE status IN ('pending', 'dead')"),
    ).toEqual([]);
    expect(env.sendgrid.store.contacts.has(loserContact)).toBe(false);
    const atSg = (env.sendgrid.state().records as { external_id: string; email: string }[]).filter((r) =>
      [survivor.id, loser.id].includes(r.external_id),
    );
    expect(atSg).toEqual([expect.objectContaining({ external_id: survivor.id, email: loser.fields.email })]);
  }

  // A merge's loser delete and the survivor's update (which may carry the loser's email) must reach SendGrid in that
  // order. Here they fall into different batches; the survivor's batch is selected while the delete is still in
  // flight, and must hold the update back rather than send it (refused: it would match both contacts) or send the
  // delete a second time.
  it("sends a batch that deletes alone: nothing else is selected while the loser's delete is in flight", async () => {
    const db = env.app.get(Database);
    const outbox = env.app.get(OutboxService);
    // No background sweep: its drain could select the pair before the batch below is laid out.
    env.app.get(SyncScheduler).onApplicationShutdown();
    // A pending pair, both at SendGrid, with different emails, merged: the survivor takes the loser's email.
    const pair = await mergeTakingLoserEmail(env.app);
    expect(pair).toBeDefined();
    const { survivor, loser, loserContact } = pair!;
    // The merge queued the survivor for duplicate detection again (it took the loser's email): checked now, as a
    // detection batch would next, so that only the loser's delete holds it back below.
    await env.app.get(DuplicateDetector).drain();
    // Order the outbox as: the loser's delete, a full batch of other contacts, then the survivor's update (its row
    // re-created, so it takes the newest id). The first batch is the delete and 999 others; the survivor is next.
    const others = (
      await db.query<{ customer_id: string }>(
        "SELECT customer_id FROM destination_state WHERE connection = 'sendgrid' AND customer_id NOT IN (?, ?) ORDER BY customer_id LIMIT 999",
        [survivor.id, loser.id],
      )
    ).map((r) => r.customer_id);
    expect(others.length).toBe(999);
    // The delete waits at the vendor's door until the second selection has been made.
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const del = sendgrid.delete.bind(sendgrid);
    const write = sendgrid.write.bind(sendgrid);
    const delSpy = jest.spyOn(sendgrid, 'delete').mockImplementation(async (ctx, object, ids) => {
      events.push(`delete:start:${ids.join(',')}`);
      await gate;
      try {
        return await del(ctx, object, ids);
      } finally {
        events.push('delete:end');
      }
    });
    const writeSpy = jest.spyOn(sendgrid, 'write').mockImplementation(async (ctx, object, items) => {
      events.push(items.some((i) => i.key === survivor.id) ? 'write:survivor' : 'write:others');
      return write(ctx, object, items);
    });
    const selections: string[][] = [];
    const selSpy = spySelections(async (rows) => {
      selections.push(rows.map((r) => r.customer_id));
    });
    // (Spies first: a background drain that took these rows would be observed as well.)
    await db.transaction(async (tx) => {
      await tx.execute("DELETE FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?", [survivor.id]);
      // Their last push is forgotten, so they are written again (not skipped as unchanged).
      await tx.execute(
        `UPDATE destination_state SET last_hash = 'stale' WHERE connection = 'sendgrid' AND customer_id IN (${others.map(() => '?').join(',')})`,
        others,
      );
      await outbox.enqueue(tx, 'sendgrid', 'contacts', others, OutboxOp.Upsert, 'sf-contacts');
      await outbox.enqueue(tx, 'sendgrid', 'contacts', [survivor.id], OutboxOp.Upsert, 'sf-contacts');
    });

    try {
      const drained = outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      for (let i = 0; i < 200 && !events.length; i++) await sleep(25);
      // First batch: the delete and the 999 others. While its delete is in flight nothing else is selected (the
      // survivor's update would otherwise be the next batch), however long it takes.
      await sleep(300);
      expect(selections).toHaveLength(1);
      expect(selections[0]).toEqual(expect.arrayContaining([loser.id, ...others]));
      expect(selections[0]).not.toContain(survivor.id);
      expect(events).toEqual([`delete:start:${loserContact}`]);
      release();
      await drained;
    } finally {
      delSpy.mockRestore();
      writeSpy.mockRestore();
      selSpy.mockRestore();
    }
    // The delete ran once, before the survivor's update, which went out once the delete had settled.
    expect(events.filter((e) => e.startsWith('delete:start'))).toHaveLength(1);
    expect(events.indexOf('delete:end')).toBeLessThan(events.indexOf('write:survivor'));
    await expectSurvivorTookLoserContact(pair!);
  }, 120_000);

  // A merge can commit after a batch was selected and before its customers are loaded: the survivor then goes out
  // with the loser's email while the loser's delete (queued by the merge) is in no batch yet. SendGrid refuses such
  // an update (it matches two contacts), and the refusal is final: the row would be dead-lettered (5 of 1,000,000
  // in a `--large` run). The survivor must wait for the next selection, which takes the delete with it.
  it("holds a survivor merged after its batch was selected until its loser's delete goes first", async () => {
    const db = env.app.get(Database);
    const outbox = env.app.get(OutboxService);
    env.app.get(SyncScheduler).onApplicationShutdown();
    const pair = await pendingSendGridPair(env.app);
    expect(pair).toBeDefined();
    const { survivor, loserContact } = pair!;
    // The survivor due again (its last push forgotten), alone in the outbox.
    await db.transaction(async (tx) => {
      await tx.execute(
        "UPDATE destination_state SET last_hash = 'stale' WHERE connection = 'sendgrid' AND customer_id = ?",
        [survivor.id],
      );
      await outbox.enqueue(tx, 'sendgrid', 'contacts', [survivor.id], OutboxOp.Upsert, 'sf-contacts');
    });
    const events: string[] = [];
    const write = sendgrid.write.bind(sendgrid);
    const del = sendgrid.delete.bind(sendgrid);
    const writeSpy = jest.spyOn(sendgrid, 'write').mockImplementation(async (ctx, object, items) => {
      events.push(`write:${items.map((i) => (i.key === survivor.id ? 'survivor' : i.key)).join(',')}`);
      return write(ctx, object, items);
    });
    const delSpy = jest.spyOn(sendgrid, 'delete').mockImplementation(async (ctx, object, ids) => {
      events.push(`delete:${ids.join(',')}`);
      return del(ctx, object, ids);
    });
    // The merge commits right after the first selection (which holds the survivor alone), before its load.
    let merged = false;
    const selSpy = spySelections(async (rows) => {
      if (!merged && rows.some((r) => r.customer_id === survivor.id)) {
        expect(rows.map((r) => r.customer_id)).toEqual([survivor.id]);
        merged = true;
        await mergeTakingLoserEmailOf(env.app, pair!);
      }
    });
    try {
      await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      // The merge queued the survivor for detection again (it took the loser's email): once it is checked, its
      // update goes out.
      await env.app.get(DuplicateDetector).drain();
      await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    } finally {
      writeSpy.mockRestore();
      delSpy.mockRestore();
      selSpy.mockRestore();
    }
    expect(merged).toBe(true);
    // The first batch sent nothing; the next one deleted the loser's contact; the survivor was updated after.
    expect(events).toEqual([`delete:${loserContact}`, 'write:survivor']);
    await expectSurvivorTookLoserContact(pair!);
  }, 120_000);
});
