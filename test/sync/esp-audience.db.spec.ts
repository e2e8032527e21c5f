// An ESP holds the customers it may email, and no one else: a customer already at SendGrid who opts out (or loses
// consent otherwise, say by a merge with an opted-out twin) has their contact there deleted, not just left out of
// later pushes. Left, the contact stayed on SendGrid's audience, and kept its email taken: a customer given that
// address later (merges move emails) was refused by SendGrid as matching two contacts and dead-lettered (the
// five dead letters of every 1,000,000-contact bench run).
import { ActorType } from '../../src/audit/audit.types';
import { MergeReason } from '../../src/identity/identity.types';
import { MergeService } from '../../src/identity/merge.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { OutboxService } from '../../src/sync/outbox.service';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`an ESP holds only the customers it may email (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 150,
      env: {
        ...testDatabaseEnv(target),
        LOG_LEVEL: 'silent',
        OUTBOX_BASE_DELAY_MS: '20',
        OUTBOX_MAX_DELAY_MS: '100',
      },
    });
    db = env.app.get(Database);
    env.salesforce.webhooks.configure({ enabled: false });
    await sync();
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  const sync = () => env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  /** An edit in Salesforce, a minute after the last one. */
  const edit = (sfId: string, values: Record<string, unknown>) => {
    env.salesforce.clock.advance?.(60_000);
    env.salesforce.mutate(sfId, values);
  };
  /** The SendGrid contact a customer holds, per the destination state. */
  const sgContact = async (customerId: string) =>
    (
      await db.query(
        "SELECT external_id FROM destination_state WHERE connection = 'sendgrid' AND object = 'contacts' AND customer_id = ?",
        [customerId],
      )
    )[0]?.external_id as string | undefined;
  const outboxRow = async (customerId: string) =>
    (
      await db.query(
        "SELECT status, last_error FROM outbox WHERE connection = 'sendgrid' AND object = 'contacts' AND customer_id = ?",
        [customerId],
      )
    )[0] as { status: string; last_error: string | null } | undefined;
  /** The customer's latest outbound outcome at SendGrid. */
  const lastOutcome = async (customerId: string) =>
    (
      await db.query<{ action: string; external_id: string | null }>(
        "SELECT action, external_id FROM record_outcomes WHERE connection = 'sendgrid' AND customer_id = ? AND direction = 'out' ORDER BY id DESC LIMIT 1",
        [customerId],
      )
    )[0];
  /** The customer's SendGrid contact is deleted, nothing of ours points at it, and its row settled suppressed. */
  const expectRemoved = async (c: { customer_id: string; sg: string }) => {
    expect(env.sendgrid.store.contacts.has(c.sg)).toBe(false);
    expect(await sgContact(c.customer_id)).toBeUndefined();
    expect(await outboxRow(c.customer_id)).toEqual({ status: 'suppressed', last_error: 'unsubscribed' });
    expect(await lastOutcome(c.customer_id)).toEqual({ action: 'suppressed', external_id: c.sg });
  };

  /** Customers at SendGrid from exactly one Salesforce contact, with the email their SendGrid contact holds. */
  const atSendGrid = async () => {
    const rows = await db.query<{ customer_id: string; sf: string; sg: string }>(
      `SELECT i.customer_id, i.external_id AS sf, d.external_id AS sg FROM customer_identities i
         JOIN destination_state d ON d.customer_id = i.customer_id AND d.connection = 'sendgrid'
         JOIN customers c ON c.id = i.customer_id AND c.merged_into IS NULL
        WHERE i.connection = 'salesforce' AND i.object = 'Contact'
          AND (SELECT COUNT(*) FROM customer_identities j WHERE j.customer_id = i.customer_id AND j.connection = 'salesforce') = 1
        ORDER BY i.customer_id`,
    );
    return rows.map((r) => ({ ...r, email: env.sendgrid.store.contacts.get(r.sg)!.text.email! }));
  };

  it('deletes the SendGrid contact of a customer who opts out, and creates one again when they opt back in', async () => {
    const [c] = await atSendGrid();
    edit(c.sf, { HasOptedOutOfEmail: true });
    await sync();

    await expectRemoved(c);
    // Nothing links to the deleted contact any more, so a later change of the opted-out customer sends nothing.
    expect(
      await db.query(
        "SELECT external_id FROM customer_identities WHERE connection = 'sendgrid' AND customer_id = ?",
        [c.customer_id],
      ),
    ).toEqual([]);
    edit(c.sf, { Title: 'Still opted out' });
    await sync();
    const outcomes = await db.query<{ action: string; external_id: string | null }>(
      "SELECT action, external_id FROM record_outcomes WHERE connection = 'sendgrid' AND customer_id = ? AND direction = 'out' AND action = 'suppressed' ORDER BY id",
      [c.customer_id],
    );
    expect(outcomes).toEqual([
      { action: 'suppressed', external_id: c.sg },
      { action: 'suppressed', external_id: null },
    ]);

    // Opted in again: a new contact, held as the customer's record again.
    edit(c.sf, { HasOptedOutOfEmail: false });
    await sync();
    const again = await sgContact(c.customer_id);
    expect(again).toBeDefined();
    expect(again).not.toBe(c.sg);
    expect(env.sendgrid.store.contacts.get(again!)!.text).toMatchObject({
      email: c.email,
      external_id: c.customer_id,
    });
    expect(await outboxRow(c.customer_id)).toEqual({ status: 'sent', last_error: null });
  });

  it("gives the email an opted-out customer's contact held at SendGrid to the customer it moved to", async () => {
    const [, t, s] = await atSendGrid();
    // t opts out and changes address; s takes t's old one. SendGrid still has t's contact under that address
    // until Syncline removes it.
    edit(t.sf, { HasOptedOutOfEmail: true, Email: `moved.${t.email}` });
    edit(s.sf, { Email: t.email });
    await sync();

    expect(env.sendgrid.store.contacts.has(t.sg)).toBe(false);
    expect(await outboxRow(t.customer_id)).toEqual({ status: 'suppressed', last_error: 'unsubscribed' });
    expect(await outboxRow(s.customer_id)).toEqual({ status: 'sent', last_error: null });
    expect(await sgContact(s.customer_id)).toBe(s.sg);
    expect(env.sendgrid.store.contacts.get(s.sg)!.text).toMatchObject({
      email: t.email,
      external_id: s.customer_id,
    });
    expect(await db.query("SELECT customer_id FROM outbox WHERE status = 'dead'")).toEqual([]);
  });

  it('retries a removal SendGrid cannot take now, and removes the contact once it can', async () => {
    const [, , , , , , c] = await atSendGrid();
    env.sendgrid.faults.configure({ outageUntil: Date.now() + 60_000 });
    try {
      edit(c.sf, { HasOptedOutOfEmail: true });
      await sync();
      expect(env.sendgrid.store.contacts.has(c.sg)).toBe(true);
      const row = await outboxRow(c.customer_id);
      expect(row?.status).toBe('pending');
      expect(row?.last_error).toMatch(/^temporary: /);
      expect(await sgContact(c.customer_id)).toBe(c.sg);
    } finally {
      env.sendgrid.faults.reset();
    }
    await new Promise((r) => setTimeout(r, 250)); // the retry's back-off (OUTBOX_MAX_DELAY_MS)
    await env.app.get(OutboxService).drain('sendgrid', 'contacts', { waitForLock: true });
    expect(env.sendgrid.store.contacts.has(c.sg)).toBe(false);
    expect(await sgContact(c.customer_id)).toBeUndefined();
    expect(await outboxRow(c.customer_id)).toEqual({ status: 'suppressed', last_error: 'unsubscribed' });
  });

  it('leaves a contact Syncline did not push there (known by its identity alone) to SendGrid', async () => {
    const [, , , , , , , c] = await atSendGrid();
    // As if read from SendGrid: the identity links the contact, no push of ours left a state.
    await db.query("DELETE FROM destination_state WHERE connection = 'sendgrid' AND customer_id = ?", [
      c.customer_id,
    ]);
    edit(c.sf, { HasOptedOutOfEmail: true });
    await sync();
    expect(env.sendgrid.store.contacts.has(c.sg)).toBe(true);
    expect(await outboxRow(c.customer_id)).toEqual({ status: 'suppressed', last_error: 'unsubscribed' });
  });

  it('finds the contact of an opted-out customer whose id was never learned by its address, and removes it', async () => {
    const c = (await atSendGrid()).at(-1)!;
    // As if the lookup after its creation had missed (SendGrid's search lags): pushed, id unknown.
    await db.query(
      "UPDATE destination_state SET external_id = NULL WHERE connection = 'sendgrid' AND customer_id = ?",
      [c.customer_id],
    );
    await db.query("DELETE FROM customer_identities WHERE connection = 'sendgrid' AND customer_id = ?", [
      c.customer_id,
    ]);
    edit(c.sf, { HasOptedOutOfEmail: true });
    await sync();
    await expectRemoved(c);
  });

  it('leaves a customer who was never at SendGrid out of it, with the reason', async () => {
    const [never] = await db.query<{ customer_id: string }>(
      "SELECT customer_id FROM outbox WHERE connection = 'sendgrid' AND status = 'suppressed' AND customer_id NOT IN (SELECT customer_id FROM destination_state WHERE connection = 'sendgrid') ORDER BY customer_id LIMIT 1",
    );
    expect(never).toBeDefined();
    expect(await lastOutcome(never.customer_id)).toEqual({ action: 'suppressed', external_id: null });
    expect(
      [...env.sendgrid.store.contacts.values()].some((x) => x.text.external_id === never.customer_id),
    ).toBe(false);
  });
  // One person, two Salesforce records merged into one customer; one record opts out. A later edit of the other
  // record (any field) makes all of its values newer, its "not opted out" included: without sticky opt-outs that
  // subscribed the person again and pushed them back to SendGrid.
  it('keeps a merged person opted out when a duplicate record that never opted out is edited later', async () => {
    const [, , , a, b] = await atSendGrid();
    const now = new Date().toISOString();
    await db.query(
      "INSERT INTO merge_candidates (customer_a, customer_b, score, explanation, block_key, status, created_at, updated_at) VALUES (?, ?, 0.99, '{\"fields\":[]}', 'test', 'pending', ?, ?)",
      [a.customer_id, b.customer_id, now, now],
    );
    const [cand] = await db.query('SELECT id FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [
      a.customer_id,
      b.customer_id,
    ]);
    await db.transaction((tx) =>
      env.app
        .get(MergeService)
        .merge(tx, Number(cand.id), MergeReason.Reviewed, { type: ActorType.Cli, id: 'esp-audience' }),
    );
    const person = [a.customer_id, b.customer_id].sort()[0];
    await sync();
    edit(b.sf, { HasOptedOutOfEmail: true });
    await sync();
    const consent = async () => (await env.app.get(CustomerRepository).get(person))!.fields.emailConsent;
    expect(await consent()).toBe('unsubscribed');
    expect(await sgContact(person)).toBeUndefined();

    edit(a.sf, { Title: 'Edited later' });
    await sync();
    expect(await consent()).toBe('unsubscribed');
    expect(await sgContact(person)).toBeUndefined();
    expect(
      [...env.sendgrid.store.contacts.values()].filter((x) =>
        [a.customer_id, b.customer_id].includes(x.text.external_id ?? ''),
      ),
    ).toEqual([]);
  });
});
