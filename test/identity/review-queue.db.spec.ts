import request from 'supertest';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { OutboxOp } from '../../src/sync/sync.types';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`duplicate review queue (${target.type})`, () => {
  let env: Environment;
  const auth = () => ({ Authorization: `Bearer ${env.token}` });
  const pendingCandidates = async () => {
    const list = await request(env.url)
      .get('/merge-candidates')
      .query({ status: 'pending' })
      .set(auth())
      .expect(200);
    return list.body.candidates ?? list.body.items ?? list.body;
  };
  /** The SendGrid contact the store says a customer has. */
  const sendgridStateOf = async (id: string) =>
    (
      await env.app
        .get(Database)
        .query(
          "SELECT external_id FROM destination_state WHERE connection = 'sendgrid' AND object = 'contacts' AND customer_id = ?",
          [id],
        )
    )[0]?.external_id as string | undefined;

  beforeAll(async () => {
    // Review mode: every candidate waits for a person, nothing merges on its own.
    env = await startEnvironment({
      contacts: 600,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_IDENTITY_MODE: 'review' },
    });
    env.salesforce.webhooks.configure({ enabled: false });
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it('queues scored, explained candidates, and accept merges while reject never proposes the pair again', async () => {
    const db = env.app.get(Database);
    expect(
      Number((await db.query('SELECT COUNT(*) AS n FROM customers WHERE merged_into IS NOT NULL'))[0].n),
    ).toBe(0);
    const pending = await pendingCandidates();
    expect(pending.length).toBeGreaterThanOrEqual(2);
    const [first, second] = pending;
    expect(first.score).toBeGreaterThan(0);
    expect(JSON.stringify(first.explanation ?? first)).toMatch(/firstName|lastName|email|phone|company/);

    await request(env.url).post(`/merge-candidates/${first.id}/accept`).set(auth()).expect(200);
    const merged = await db.query('SELECT id, merged_into FROM customers WHERE merged_into IS NOT NULL');
    expect(merged).toHaveLength(1);
    expect([first.customerA ?? first.customer_a, first.customerB ?? first.customer_b]).toContain(
      merged[0].id,
    );
    // Both had been pushed to SendGrid by the run; after the merge the vendor keeps the survivor only.
    const loser = merged[0].id as string;
    const survivor = merged[0].merged_into as string;
    const sgIds = () => new Set((env.sendgrid.state().records as { id: string }[]).map((c) => c.id));
    const [loserAtSg] = await db.query(
      "SELECT external_id FROM destination_state WHERE connection = 'sendgrid' AND customer_id = ?",
      [loser],
    );
    expect(loserAtSg).toBeDefined();
    expect(sgIds().has(loserAtSg.external_id)).toBe(true);
    await env.app.get(OutboxService).drain('sendgrid', 'contacts', { waitForLock: true });
    expect(sgIds().has(loserAtSg.external_id)).toBe(false);
    const left = await db.query(
      "SELECT customer_id FROM destination_state WHERE connection = 'sendgrid' AND customer_id IN (?, ?)",
      [loser, survivor],
    );
    expect(left.map((r) => r.customer_id)).toEqual([survivor]);
    const audit = await request(env.url)
      .get('/audit')
      .query({ entity: 'customer', entityId: merged[0].merged_into, limit: 100 })
      .set(auth())
      .expect(200);
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'customer.merged')).toBe(true);

    await request(env.url).post(`/merge-candidates/${second.id}/reject`).set(auth()).expect(200);
    const after = await request(env.url).get(`/merge-candidates/${second.id}`).set(auth()).expect(200);
    expect(after.body.status).toBe('rejected');
    // Accepting a decided candidate is refused.
    const again = await request(env.url).post(`/merge-candidates/${second.id}/accept`).set(auth());
    expect(again.status).toBeGreaterThanOrEqual(400);
  });
  it("a survivor that takes over the loser's SendGrid contact leaves one contact there, whichever SendGrid matched", async () => {
    const db = env.app.get(Database);
    const pending = await pendingCandidates();
    // A pair whose contacts at SendGrid carry different emails: SendGrid matches an upsert by email or by our
    // external_id, so the survivor's upsert cannot land on the loser's contact and creates one.
    const sgEmail = (customerId: string) =>
      (env.sendgrid.state().records as { email: string; external_id: string }[])
        .find((r) => r.external_id === customerId)
        ?.email.toLowerCase();
    const pairOf = (x: Record<string, string>) => [x.customerA ?? x.customer_a, x.customerB ?? x.customer_b];
    const c = pending.find((x: Record<string, string>) => {
      const [a, b] = pairOf(x).map(sgEmail);
      return a && b && a !== b;
    });
    expect(c).toBeDefined();
    const ids = pairOf(c) as string[];
    // The merge keeps the smaller id. Make the survivor one that never reached SendGrid (as when its first push
    // was still in flight when another worker merged): the merge then moves the loser's contact to it.
    const [survivor, loser] = [...ids].sort();
    const survivorContact = await sendgridStateOf(survivor);
    const loserContact = await sendgridStateOf(loser);
    expect(survivorContact).toBeDefined();
    expect(loserContact).toBeDefined();
    const store = env.sendgrid.store;
    store.removeContact(store.contacts.get(survivorContact!)!);
    await db.transaction((tx) =>
      tx.execute("DELETE FROM destination_state WHERE connection = 'sendgrid' AND customer_id = ?", [
        survivor,
      ]),
    );

    await request(env.url).post(`/merge-candidates/${c.id}/accept`).set(auth()).expect(200);
    expect(await sendgridStateOf(survivor)).toBe(loserContact);
    const outbox = env.app.get(OutboxService);
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });

    // Whichever contact the survivor's upsert landed on (a new one for its own email, or the loser's when the merge
    // kept the loser's email), SendGrid now holds exactly one contact for the person, and it is the survivor's.
    const now = await sendgridStateOf(survivor);
    expect(now).toBeDefined();
    const forPerson = (env.sendgrid.state().records as { id: string; external_id: string }[]).filter(
      (r) => r.id === loserContact || r.id === now || ids.includes(r.external_id),
    );
    expect(forPerson.map((r) => r.id)).toEqual([now]);
    expect(await sendgridStateOf(loser)).toBeUndefined();
  });
  it("a merge landing while the loser's push is in flight leaves the survivor tracking a contact that exists", async () => {
    const db = env.app.get(Database);
    const pending = await pendingCandidates();
    // A pair both at SendGrid (some customers have no email consent and never reach it).
    let c: Record<string, string> | undefined;
    for (const x of pending as Record<string, string>[]) {
      const pair = [x.customerA ?? x.customer_a, x.customerB ?? x.customer_b];
      if ((await sendgridStateOf(pair[0])) && (await sendgridStateOf(pair[1]))) {
        c = x;
        break;
      }
    }
    expect(c).toBeDefined();
    const ids = [c!.customerA ?? c!.customer_a, c!.customerB ?? c!.customer_b];
    const [survivor, loser] = [...ids].sort();
    const loserContact = (await sendgridStateOf(loser))!;
    const survivorContact = (await sendgridStateOf(survivor))!;
    expect(loserContact).toBeDefined();
    // The survivor has nothing at SendGrid yet, so the merge hands it the loser's contact.
    env.sendgrid.store.removeContact(env.sendgrid.store.contacts.get(survivorContact)!);
    await db.transaction(async (tx) => {
      await tx.execute("DELETE FROM destination_state WHERE connection = 'sendgrid' AND customer_id = ?", [
        survivor,
      ]);
      // The loser is pushed again (its content differs from what SendGrid last got).
      await tx.execute(
        "UPDATE destination_state SET last_hash = 'stale' WHERE connection = 'sendgrid' AND customer_id = ?",
        [loser],
      );
    });
    const outbox = env.app.get(OutboxService);
    await db.transaction((tx) =>
      outbox.enqueue(tx, 'sendgrid', 'contacts', [loser], OutboxOp.Upsert, 'sf-contacts'),
    );
    // SendGrid's import job takes a while: the merge is accepted while the loser's upsert waits on it.
    env.sendgrid.setJobDelay(400);
    try {
      const inFlight = outbox.drain('sendgrid', 'contacts', { waitForLock: true });
      await new Promise((r) => setTimeout(r, 150));
      await request(env.url).post(`/merge-candidates/${c!.id}/accept`).set(auth()).expect(200);
      await inFlight;
    } finally {
      env.sendgrid.setJobDelay(20);
    }
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });
    await outbox.drain('sendgrid', 'contacts', { waitForLock: true });

    // One contact for the person at SendGrid, the one the survivor tracks; the loser tracks none.
    const now = await sendgridStateOf(survivor);
    expect(now).toBeDefined();
    const atSg = env.sendgrid.state().records as { id: string; external_id: string }[];
    expect(atSg.some((r) => r.id === now)).toBe(true);
    const forPerson = atSg.filter(
      (r) => r.id === loserContact || r.id === now || ids.includes(r.external_id),
    );
    expect(forPerson.map((r) => r.id)).toEqual([now]);
    expect(await sendgridStateOf(loser)).toBeUndefined();
  });
});
