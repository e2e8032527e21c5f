// A merge and a push of one of its customers, from two workers at once. The merge's transaction stays open (the rest
// of a detection batch) while the loser's first push to SendGrid settles; the loser's outbox row was re-enqueued with
// a newer version meanwhile, so the settle's outbox update matches no row and takes no lock. Under READ COMMITTED
// the merge saw no destination state for the loser and the settle saw no merge: SendGrid kept both contacts and no
// work was left to delete one (seen once in the Redis scale-out suite). Both now lock the customers first, so
// whichever commits second sees the other. On SQLite the two transactions take turns anyway.
import { ActorType } from '../../src/audit/audit.types';
import { CustomerWriter } from '../../src/canonical/customer-writer.service';
import { MergeReason } from '../../src/identity/identity.types';
import { DuplicateDetector } from '../../src/identity/duplicate-detector.service';
import { MergeService } from '../../src/identity/merge.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { OutboxOp, RunTrigger } from '../../src/sync/sync.types';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { ConnectorRegistry } from '../../src/connectors/connector.registry';
import type { WriteItem } from '../../src/connectors/connector.types';
import { mergeTakingLoserEmail, mergeTakingLoserEmailOf, pendingSendGridPair } from '../support/merge-pair';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`a merge and the pushes of its pair (${target.type})`, () => {
  let env: Environment;
  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 600,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_IDENTITY_MODE: 'review' },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  }, 180_000);
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });
  /** The SendGrid contact a customer holds, per the destination state. */
  const sg = async (id: string) =>
    (
      await env.app
        .get(Database)
        .query(
          "SELECT external_id FROM destination_state WHERE connection = 'sendgrid' AND object = 'contacts' AND customer_id = ?",
          [id],
        )
    )[0]?.external_id as string | undefined;

  /**
   * A merge that gave its survivor values detection compares queues the survivor for detection again, and the outbox
   * holds it until then; detected here as the detection batch's drain would next, so what holds it back is only what
   * a test sets up.
   */
  const detected = () => env.app.get(DuplicateDetector).drain();

  /** Takes a customer's SendGrid contact away, as if it had never been pushed (its next push creates one). */
  const notYetAtSendGrid = async (id: string) => {
    env.sendgrid.store.removeContact(env.sendgrid.store.contacts.get((await sg(id))!)!);
    await env.app.get(Database).transaction(async (tx) => {
      await tx.execute("DELETE FROM destination_state WHERE connection = 'sendgrid' AND customer_id = ?", [
        id,
      ]);
      await tx.execute("DELETE FROM customer_identities WHERE connection = 'sendgrid' AND customer_id = ?", [
        id,
      ]);
    });
  };

  /** A pending candidate pair made by hand (the tests decide which pairs merge, and in which order). */
  const candidate = async (a: string, b: string) => {
    const db = env.app.get(Database);
    const now = new Date().toISOString();
    await db.query(
      "INSERT INTO merge_candidates (customer_a, customer_b, score, explanation, block_key, status, created_at, updated_at) VALUES (?, ?, 0.99, '{\"fields\":[]}', 'test', 'pending', ?, ?)",
      [a, b, now, now],
    );
    const [row] = await db.query('SELECT id FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [
      a,
      b,
    ]);
    return Number(row.id);
  };

  it("the loser's record created by a push settling inside the merge's transaction window is deleted", async () => {
    const db = env.app.get(Database);
    const cands = await db.query(
      "SELECT id, customer_a, customer_b FROM merge_candidates WHERE status = 'pending'",
    );
    let c: Record<string, string> | undefined;
    for (const x of cands)
      if ((await sg(x.customer_a)) && (await sg(x.customer_b))) {
        c = x;
        break;
      }
    expect(c).toBeDefined();
    const [survivor, loser] = [c!.customer_a, c!.customer_b].sort();
    // The loser never reached SendGrid yet: its first push (a create) is the one in flight.
    await notYetAtSendGrid(loser);
    const outbox = env.app.get(OutboxService);
    await db.transaction((tx) =>
      outbox.enqueue(tx, 'sendgrid', 'contacts', [loser], OutboxOp.Upsert, 'sf-contacts'),
    );
    env.sendgrid.setJobDelay(600);
    try {
      // The push is in flight (the sandbox answers its import job after 600 ms)…
      const inFlight = outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      await sleep(150);
      // A page touches the loser meanwhile (new version, outbox row re-enqueued), committed.
      await db.transaction(async (tx) => {
        await tx.execute('UPDATE customers SET version = version + 1 WHERE id = ?', [loser]);
        await outbox.enqueue(tx, 'sendgrid', 'contacts', [loser], OutboxOp.Upsert, 'sf-contacts');
        // ...and queues it for duplicate detection, as every page does for what it changed.
        await tx.execute(
          "INSERT INTO identity_pending (customer_id, actor_type, actor_id, queued_at) VALUES (?, 'sync-run', 'r', ?)",
          [loser, new Date().toISOString()],
        );
      });
      // The merge (in a detection batch that goes on with other work before committing).
      const merging = db.transaction(async (tx) => {
        await tx.execute('DELETE FROM identity_pending WHERE customer_id = ?', [loser]);
        await env.app
          .get(MergeService)
          .merge(tx, Number(c!.id), MergeReason.Automatic, { type: ActorType.System, id: 'identity' });
        await sleep(1500);
      }, 0);
      await inFlight;
      await merging;
    } finally {
      env.sendgrid.setJobDelay(20);
    }
    await detected();
    for (let i = 0; i < 3; i++) await outbox.drain('sendgrid', 'contacts', { waitForLock: true });

    const pending = await db.query(
      "SELECT customer_id, op, status FROM outbox WHERE connection = 'sendgrid' AND status <> 'sent' AND customer_id IN (?, ?)",
      [survivor, loser],
    );
    const atSg = env.sendgrid.state().records as { id: string; external_id: string }[];
    const forPerson = atSg.filter((r) => [survivor, loser].includes(r.external_id));
    expect(pending).toEqual([]);
    expect(forPerson.length).toBe(1);
    expect(await sg(loser)).toBeUndefined();
  }, 60_000);

  // The survivor's outbox row is the older one, so in id order its update comes before the loser's delete (a batch
  // earlier on a large base). Carrying the loser's email, that update matched both contacts at SendGrid and was
  // refused as invalid, then dead-lettered (seen once in a 60,000-contact run).
  it("holds a survivor's update that carries the loser's email until the loser's record is deleted", async () => {
    const db = env.app.get(Database);
    const repo = env.app.get(CustomerRepository);
    const outbox = env.app.get(OutboxService);
    // A pending pair, both at SendGrid, with different emails, merged: the survivor takes the loser's email.
    const pair = await mergeTakingLoserEmail(env.app);
    expect(pair).toBeDefined();
    const { survivor, loser, loserContact } = pair!;
    const merged = (await repo.loadMany(db, [survivor.id])).get(survivor.id)!;
    expect(merged.fields.email).toBe(loser.fields.email);
    await detected();
    // The loser's delete backs off (say the vendor failed it once); the survivor's update must wait for it.
    await db.query(
      "UPDATE outbox SET next_attempt_at = ? WHERE connection = 'sendgrid' AND customer_id = ? AND op = 'delete'",
      [new Date(Date.now() + 3_600_000).toISOString(), loser.id],
    );
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    const rowOf = async (id: string) =>
      (
        await db.query("SELECT op, status FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?", [
          id,
        ])
      )[0];
    expect(await rowOf(survivor.id)).toEqual({ op: OutboxOp.Upsert, status: 'pending' });
    expect(env.sendgrid.store.contacts.has(loserContact)).toBe(true);

    // Due again: the delete goes first, then the update, in one batch.
    await db.query(
      "UPDATE outbox SET next_attempt_at = ? WHERE connection = 'sendgrid' AND customer_id = ? AND op = 'delete'",
      [new Date(Date.now() - 1_000).toISOString(), loser.id],
    );
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(await rowOf(survivor.id)).toEqual({ op: OutboxOp.Upsert, status: 'sent' });
    expect(await db.query("SELECT id FROM outbox WHERE status = 'dead'")).toEqual([]);
    expect(env.sendgrid.store.contacts.has(loserContact)).toBe(false);
    const atSg = (env.sendgrid.state().records as { external_id: string; email: string }[]).filter((r) =>
      [survivor.id, loser.id].includes(r.external_id),
    );
    expect(atSg).toEqual([expect.objectContaining({ external_id: survivor.id, email: loser.fields.email })]);
  }, 60_000);

  // Seen at 1,000,000 contacts (5 dead letters): the loser's own first push was in flight when the merge committed,
  // another batch settled meanwhile (two are in flight), and the next selection sent the survivor's update, which
  // carries the loser's email, before the loser's push settled and its fold queued the loser's delete. SendGrid had
  // made the loser's new record by then, so the update matched two records and was refused. The survivor now waits
  // while a merged-away customer of its own is being sent.
  it("holds a survivor's update while its loser's own push is still in flight", async () => {
    const db = env.app.get(Database);
    const outbox = env.app.get(OutboxService);
    const pair = await pendingSendGridPair(env.app);
    expect(pair).toBeDefined();
    const { survivor, loser } = pair!;
    // The loser is not at SendGrid yet: the push in flight is its first (a create).
    await notYetAtSendGrid(loser.id);
    const [other] = await db.query(
      "SELECT c.id FROM customers c JOIN destination_state d ON d.customer_id = c.id AND d.connection = 'sendgrid' WHERE c.merged_into IS NULL AND c.id NOT IN (?, ?) ORDER BY c.id LIMIT 1",
      [survivor.id, loser.id],
    );
    await db.transaction((tx) =>
      outbox.enqueue(tx, 'sendgrid', 'contacts', [loser.id], OutboxOp.Upsert, 'sf-contacts'),
    );
    // Sent again as if changed (an unchanged record is not sent at all).
    await db.transaction(async (tx) => {
      await tx.execute(
        "UPDATE destination_state SET last_hash = 'changed' WHERE connection = 'sendgrid' AND customer_id = ?",
        [other.id],
      );
      await outbox.enqueue(tx, 'sendgrid', 'contacts', [other.id], OutboxOp.Upsert, 'sf-contacts');
    });
    // Batches of one, so the loser's push and another customer's are two batches in flight. The vendor calls are
    // the real ones; the test only decides when each batch gets their answer back.
    const connector = env.app.get(ConnectorRegistry).get('sendgrid');
    const limits = connector.manifest.limits;
    (connector.manifest as { limits: typeof limits }).limits = { ...limits, maxBatchSize: 1 };
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      let reach!: () => void;
      const reached = new Promise<void>((r) => (reach = r));
      return { open, opened, reach, reached };
    };
    const loserBack = gate();
    const otherSent = gate();
    const write = connector.write.bind(connector);
    const spy = jest.spyOn(connector, 'write').mockImplementation(async (ctx, object, items: WriteItem[]) => {
      const ids = items.map((i) => i.key);
      if (ids.includes(other.id)) {
        otherSent.reach();
        await otherSent.opened;
      }
      const out = await write(ctx, object, items);
      if (ids.includes(loser.id)) {
        // Created at SendGrid; its settle (and the fold that queues its delete) waits.
        loserBack.reach();
        await loserBack.opened;
      }
      return out;
    });
    try {
      const draining = outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      await Promise.all([loserBack.reached, otherSent.reached]);
      expect(env.sendgrid.store.findByIdentifier('external_id', loser.id)).toBeDefined();
      await mergeTakingLoserEmailOf(env.app, pair!);
      // The other batch settles; the next selection finds the survivor's update.
      otherSent.open();
      for (let i = 0; i < 100; i++) {
        const [row] = await db.query(
          "SELECT status FROM outbox WHERE connection = 'sendgrid' AND customer_id = ? AND op = 'upsert'",
          [other.id],
        );
        if (row?.status === 'sent') break;
        await sleep(50);
      }
      await sleep(200);
      loserBack.open();
      await draining;
    } finally {
      loserBack.open();
      otherSent.open();
      spy.mockRestore();
      (connector.manifest as { limits: typeof limits }).limits = limits;
    }
    await detected();
    for (let i = 0; i < 3; i++) await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(
      await db.query(
        "SELECT customer_id, op, status, last_error FROM outbox WHERE connection = 'sendgrid' AND status <> 'sent' AND customer_id IN (?, ?)",
        [survivor.id, loser.id],
      ),
    ).toEqual([]);
    const atSg = (env.sendgrid.state().records as { external_id: string; email: string }[]).filter((r) =>
      [survivor.id, loser.id].includes(r.external_id),
    );
    expect(atSg).toEqual([expect.objectContaining({ external_id: survivor.id, email: loser.fields.email })]);
  }, 60_000);

  // A chain of merges while a first push is in flight: Z (not at SendGrid yet, its create in flight) is merged into Y
  // (not at SendGrid), and Y into X (at SendGrid). The fold of Z's settle looked at Y only: finding no record there it
  // gave Z's new record to Y, a merged-away customer nobody pushes, and SendGrid kept two records for one person (the
  // survivor's update then also matched both when it carried Z's email). It follows the chain to X now, whose record
  // exists, so Z's record is deleted as a twin.
  it('folds a record pushed for a customer merged twice meanwhile into the customer the chain ends in', async () => {
    const db = env.app.get(Database);
    const outbox = env.app.get(OutboxService);
    const live = await db.query(
      "SELECT c.id FROM customers c JOIN destination_state d ON d.customer_id = c.id AND d.connection = 'sendgrid' WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM merge_candidates m WHERE m.customer_a = c.id OR m.customer_b = c.id) ORDER BY c.id LIMIT 3",
    );
    expect(live.length).toBe(3);
    const [x, y, z] = live.map((r) => r.id as string);
    // Y and Z are not at SendGrid: Z's push in flight is its first (a create).
    for (const id of [y, z]) await notYetAtSendGrid(id);
    await db.transaction((tx) =>
      outbox.enqueue(tx, 'sendgrid', 'contacts', [z], OutboxOp.Upsert, 'sf-contacts'),
    );
    const yz = await candidate(y, z);
    const xy = await candidate(x, y);
    env.sendgrid.setJobDelay(600);
    try {
      const inFlight = outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      await sleep(150);
      const actor = { type: ActorType.System, id: 'identity' };
      await db.transaction(async (tx) => {
        await env.app.get(MergeService).merge(tx, yz, MergeReason.Automatic, actor);
        await env.app.get(MergeService).merge(tx, xy, MergeReason.Automatic, actor);
      });
      await inFlight;
    } finally {
      env.sendgrid.setJobDelay(20);
    }
    await detected();
    for (let i = 0; i < 3; i++) await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    const atSg = (env.sendgrid.state().records as { external_id: string }[]).filter((r) =>
      [x, y, z].includes(r.external_id),
    );
    expect(atSg.map((r) => r.external_id)).toEqual([x]);
    expect(await sg(x)).toBeDefined();
    expect(await sg(y)).toBeUndefined();
    expect(await sg(z)).toBeUndefined();
    expect(
      await db.query(
        "SELECT customer_id FROM outbox WHERE connection = 'sendgrid' AND status <> 'sent' AND customer_id IN (?, ?, ?)",
        [x, y, z],
      ),
    ).toEqual([]);
  }, 60_000);

  // The same chain with every customer at SendGrid: Z merged into Y (Z's delete queued), then Y into X (Y's delete
  // queued). X's update, which may carry Z's email by now, waits for both deletes, not only for that of the customer
  // merged into it directly.
  it("holds a survivor's update until the deletes of a whole merge chain are done", async () => {
    const db = env.app.get(Database);
    const outbox = env.app.get(OutboxService);
    const live = await db.query(
      "SELECT c.id FROM customers c JOIN destination_state d ON d.customer_id = c.id AND d.connection = 'sendgrid' WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM merge_candidates m WHERE m.customer_a = c.id OR m.customer_b = c.id) ORDER BY c.id DESC LIMIT 3",
    );
    expect(live.length).toBe(3);
    const [x, y, z] = live.map((r) => r.id as string).sort();
    const zContact = (await sg(z))!;
    const actor = { type: ActorType.System, id: 'identity' };
    const yz = await candidate(y, z);
    await db.transaction((tx) => env.app.get(MergeService).merge(tx, yz, MergeReason.Automatic, actor));
    // Z's delete backs off (say the vendor failed it once).
    await db.query(
      "UPDATE outbox SET next_attempt_at = ? WHERE connection = 'sendgrid' AND customer_id = ? AND op = 'delete'",
      [new Date(Date.now() + 3_600_000).toISOString(), z],
    );
    const xy = await candidate(x, y);
    await db.transaction((tx) => env.app.get(MergeService).merge(tx, xy, MergeReason.Automatic, actor));
    await detected();
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    const rowOf = async (id: string) =>
      (
        await db.query("SELECT op, status FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?", [
          id,
        ])
      )[0];
    expect(await rowOf(x)).toEqual({ op: OutboxOp.Upsert, status: 'pending' });
    expect(env.sendgrid.store.contacts.has(zContact)).toBe(true);

    await db.query(
      "UPDATE outbox SET next_attempt_at = ? WHERE connection = 'sendgrid' AND customer_id = ? AND op = 'delete'",
      [new Date(Date.now() - 1_000).toISOString(), z],
    );
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    expect(await rowOf(x)).toEqual({ op: OutboxOp.Upsert, status: 'sent' });
    expect(env.sendgrid.store.contacts.has(zContact)).toBe(false);
    const atSg = (env.sendgrid.state().records as { external_id: string }[]).filter((r) =>
      [x, y, z].includes(r.external_id),
    );
    expect(atSg.map((r) => r.external_id)).toEqual([x]);
  }, 60_000);

  // Seen in a 100,000-contact PostgreSQL benchmark run: a survivor's push under a new email made SendGrid create a
  // new contact, and its old one was handed to a merged-away customer to delete; but between the two, another
  // customer holding the survivor's old email had been pushed and matched that old contact, so the delete took the
  // other customer's contact away (the destination one contact short of what Syncline tracked).
  /**
   * Two live customers at SendGrid with emails, A and B (B's contact taken away), and a customer merged into A that
   * holds no record there: the one a record A leaves behind is handed to, to delete.
   */
  const handover = async () => {
    const db = env.app.get(Database);
    const repo = env.app.get(CustomerRepository);
    const writer = env.app.get(CustomerWriter);
    const outbox = env.app.get(OutboxService);
    // Not merged, nothing pending; A's SendGrid outbox row newer than B's (so B's goes first in a drain).
    const ids = (
      await db.query(
        `SELECT c.id FROM customers c JOIN destination_state d ON d.customer_id = c.id AND d.connection = 'sendgrid'
           JOIN outbox o ON o.customer_id = c.id AND o.connection = 'sendgrid'
          WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND d.external_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM customers m WHERE m.merged_into = c.id)
            AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.customer_id = c.id AND p.status = 'pending')
          ORDER BY o.id DESC LIMIT 10`,
      )
    ).map((r) => r.id as string);
    const rows = await repo.loadMany(db, ids);
    const [a, b] = ids.map((id) => rows.get(id)!).filter((c) => typeof c.fields.email === 'string');
    const old = (await sg(a.id))!;
    await notYetAtSendGrid(b.id);
    const now = new Date().toISOString();
    const carrier = {
      ...a,
      id: `01ffffff-0000-7000-8000-${Date.now().toString(16).padStart(12, '0').slice(-12)}`,
      version: 1,
      emailKey: null,
      fields: { firstName: 'Merged', lastName: 'Away' },
      provenance: {},
      createdAt: now,
      updatedAt: now,
      mergedInto: a.id,
      erasedAt: null,
    };
    await db.transaction((tx) => repo.insertCustomers(tx, [carrier]));
    /** A new version of `c` with `email` (and `more` fields), queued for SendGrid. */
    const withEmail = (c: typeof a, email: string, more: Record<string, unknown> = {}) =>
      db.transaction(async (tx) => {
        const fields = { ...c.fields, email, ...more };
        const next = { ...c, version: c.version + 1, emailKey: writer.emailKeyOf(email), fields };
        await repo.updateCustomer(tx, next, c.version);
        await outbox.enqueue(tx, 'sendgrid', 'contacts', [c.id], OutboxOp.Upsert, 'sf-contacts');
      });
    const drain = (maxBatches?: number) =>
      outbox.drain('sendgrid', 'contacts', { waitForLock: true, ...(maxBatches ? { maxBatches } : {}) });
    /** What must hold in the end: A, B and their contacts, the carrier with none, nothing left pending. */
    const settled = async () => {
      const atSg = env.sendgrid.state().records as { id: string; external_id: string }[];
      expect(atSg.find((r) => r.id === old)?.external_id).toBe(b.id);
      const aContact = await sg(a.id);
      expect(atSg.find((r) => r.id === aContact)?.external_id).toBe(a.id);
      expect(await sg(b.id)).toBe(old);
      expect(await sg(carrier.id)).toBeUndefined();
      expect(
        await db.query("SELECT 1 FROM outbox WHERE customer_id IN (?, ?, ?) AND status <> 'sent'", [
          a.id,
          b.id,
          carrier.id,
        ]),
      ).toEqual([]);
    };
    return {
      a,
      b,
      old,
      oldEmail: a.fields.email as string,
      newEmail: `moved.${Date.now()}@example.org`,
      carrier,
      withEmail,
      drain,
      settled,
    };
  };

  /** A promise settled from outside. */
  const latch = () => {
    let done!: () => void;
    const promise = new Promise<void>((r) => (done = r));
    return { done, promise };
  };

  /**
   * Runs `fn` with SendGrid written in batches of one and its real write and delete calls wrapped by the hooks, which
   * decide when each goes out or comes back (the vendor calls themselves are the real ones).
   */
  const withVendorHooks = async (
    hooks: {
      afterWrite?: (keys: string[]) => Promise<void>;
      beforeDelete?: () => Promise<void>;
      afterDelete?: () => void;
    },
    fn: () => Promise<void>,
  ) => {
    const connector = env.app.get(ConnectorRegistry).get('sendgrid');
    const limits = connector.manifest.limits;
    (connector.manifest as { limits: typeof limits }).limits = { ...limits, maxBatchSize: 1 };
    const write = connector.write.bind(connector);
    const del = connector.delete.bind(connector);
    const writeSpy = jest
      .spyOn(connector, 'write')
      .mockImplementation(async (ctx, object, items: WriteItem[]) => {
        const out = await write(ctx, object, items);
        await hooks.afterWrite?.(items.map((i) => i.key));
        return out;
      });
    const deleteSpy = jest
      .spyOn(connector, 'delete')
      .mockImplementation(async (ctx, object, ids: string[]) => {
        await hooks.beforeDelete?.();
        try {
          return await del(ctx, object, ids);
        } finally {
          hooks.afterDelete?.();
        }
      });
    try {
      await fn();
    } finally {
      writeSpy.mockRestore();
      deleteSpy.mockRestore();
      (connector.manifest as { limits: typeof limits }).limits = limits;
    }
  };

  it('does not delete a record left behind by a survivor once another live customer holds it', async () => {
    const { a, b, old, oldEmail, newEmail, carrier, withEmail, drain, settled } = await handover();
    // B takes A's email and is pushed: SendGrid matches it to A's contact by that email.
    await withEmail(b, oldEmail);
    await drain();
    expect(await sg(b.id)).toBe(old);
    // Then A, moved to a new email: SendGrid creates a contact for it, and A's old one is handed to the carrier.
    await withEmail(a, newEmail);
    await drain();
    expect(await sg(a.id)).not.toBe(old);
    const [queued] = await env.app
      .get(Database)
      .query("SELECT status FROM outbox WHERE customer_id = ? AND op = 'delete' ORDER BY id DESC", [
        carrier.id,
      ]);
    expect(queued).toBeDefined();
    // The carrier's delete goes out next: the record is B's now, so it stays.
    for (let i = 0; i < 2; i++) await drain();
    await settled();
  }, 60_000);

  it('does not send a delete beside a write in flight that takes the deleted record (the vendor matches by email)', async () => {
    const { a, b, old, oldEmail, newEmail, carrier, withEmail, drain, settled } = await handover();
    const db = env.app.get(Database);
    // B takes A's email, and A moves to a new one. In batches of one, B's write goes first (its row is older) and is
    // still in flight (its answer held back) when A's makes a new contact for A and hands A's old one to the
    // carrier; the carrier's delete is selected next. SendGrid matched B to that old contact by its email.
    await withEmail(b, oldEmail);
    await withEmail(a, newEmail);
    const answer = latch();
    const inFlight = latch();
    let holding = false;
    let deletedWhileInFlight = false;
    await withVendorHooks(
      {
        // B's answer (its settle) held back for a while.
        afterWrite: async (keys) => {
          if (!keys.includes(b.id)) return;
          holding = true;
          inFlight.done();
          await answer.promise;
          holding = false;
        },
        beforeDelete: async () => {
          if (holding) deletedWhileInFlight = true;
        },
      },
      async () => {
        const draining = drain();
        try {
          await inFlight.promise;
          expect(env.sendgrid.store.findByIdentifier('external_id', b.id)?.id).toBe(old);
          for (let i = 0; i < 100 && (await sg(a.id)) === old; i++) await sleep(20);
          expect(await sg(a.id)).not.toBe(old);
          const [queued] = await db.query(
            "SELECT status FROM outbox WHERE customer_id = ? AND op = 'delete'",
            [carrier.id],
          );
          expect(queued).toBeDefined();
          // Long enough for a delete sent beside B's write to have gone out.
          await sleep(500);
        } finally {
          answer.done();
          await draining;
        }
      },
    );
    expect(deletedWhileInFlight).toBe(false);
    await drain();
    await settled();
    // The carrier's delete was settled without the vendor call: the record is B's.
    const [outcome] = await db.query(
      "SELECT action FROM record_outcomes WHERE customer_id = ? AND direction = 'out' ORDER BY id DESC",
      [carrier.id],
    );
    expect(outcome).toMatchObject({ action: 'unchanged' });
  }, 60_000);

  it("sends a write again when the vendor matched it to a record an opt-out's removal deleted while it was in flight", async () => {
    const { a, b, old, oldEmail, newEmail, withEmail, drain } = await handover();
    const db = env.app.get(Database);
    // A moves to a new email and opts out in one change: its SendGrid contact (still carrying A's old email) is to
    // be removed. B takes A's old email. In batches of one, B's write goes first (its row is older) and SendGrid
    // matches it to A's contact by that email; its answer is held back while A's batch removes that contact.
    await withEmail(b, oldEmail);
    await withEmail(a, newEmail, { emailConsent: 'unsubscribed' });
    const bWritten = latch();
    const aRemoved = latch();
    // B's write reaches SendGrid first, A's removal next, and B's answer comes back after that.
    await withVendorHooks(
      {
        afterWrite: async (keys) => {
          if (!keys.includes(b.id)) return;
          bWritten.done();
          await aRemoved.promise;
        },
        beforeDelete: () => bWritten.promise,
        afterDelete: aRemoved.done,
      },
      async () => {
        const draining = drain();
        try {
          await bWritten.promise;
          expect(env.sendgrid.store.findByIdentifier('external_id', b.id)?.id).toBe(old);
        } catch (err) {
          aRemoved.done();
          throw err;
        } finally {
          await draining;
        }
      },
    );
    expect(env.sendgrid.store.contacts.get(old)).toBeUndefined();
    // B's write was not recorded against the deleted contact: it is retried, and makes B a contact of its own.
    expect(await sg(b.id)).toBeUndefined();
    const [row] = await db.query(
      "SELECT status, last_error FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?",
      [b.id],
    );
    expect(row).toMatchObject({ status: 'pending' });
    expect(String(row.last_error)).toMatch(/deleted while the write was in flight/);
    await db.query(
      "UPDATE outbox SET next_attempt_at = ? WHERE connection = 'sendgrid' AND customer_id = ?",
      [new Date(0).toISOString(), b.id],
    );
    await drain();
    const contact = await sg(b.id);
    expect(contact).toBeDefined();
    expect(contact).not.toBe(old);
    expect(env.sendgrid.store.contacts.get(contact!)?.text).toMatchObject({
      external_id: b.id,
      email: oldEmail,
    });
    // A left SendGrid's audience: no contact, nothing tracked.
    expect(await sg(a.id)).toBeUndefined();
    expect(env.sendgrid.store.findByIdentifier('external_id', a.id)).toBeUndefined();
    expect(
      await db.query("SELECT 1 FROM outbox WHERE customer_id IN (?, ?) AND status = 'pending'", [a.id, b.id]),
    ).toEqual([]);
  }, 60_000);
});
