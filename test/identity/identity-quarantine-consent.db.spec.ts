import request from 'supertest';
import { AuditService } from '../../src/audit/audit.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunTrigger } from '../../src/sync/sync.types';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`quarantine, identity resolution and consent (${target.type})`, () => {
  let env: Environment;
  let db: Database;
  const api = () => request(env.url);
  const auth = { authorization: '' };

  beforeAll(async () => {
    env = await startEnvironment({ contacts: 400, env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent' } });
    auth.authorization = `Bearer ${env.token}`;
    db = env.app.get(Database);
    env.salesforce.webhooks.configure({ enabled: false });
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  describe('quarantine', () => {
    it('lists and filters, and names a bad parameter', async () => {
      const all = await api().get('/quarantine?status=open&limit=1000').set(auth).expect(200);
      expect(all.body.entries.length).toBeGreaterThan(0);
      const byField = await api()
        .get('/quarantine?field=email&connection=salesforce&object=Contact')
        .set(auth)
        .expect(200);
      expect(byField.body.entries.length).toBeGreaterThan(0);
      for (const e of byField.body.entries)
        expect(e.reasons.some((r: { field: string }) => r.field === 'email')).toBe(true);
      const page = await api().get('/quarantine?limit=1').set(auth).expect(200);
      expect(page.body.entries).toHaveLength(1);
      const next = await api()
        .get(`/quarantine?limit=1&cursor=${page.body.nextCursor}`)
        .set(auth)
        .expect(200);
      expect(next.body.entries[0].id).toBeGreaterThan(page.body.entries[0].id);
      const bad = await api().get('/quarantine?status=weird').set(auth).expect(400);
      expect(bad.body.message).toMatch(/status/);
      const unknown = await api().get('/quarantine?colour=red').set(auth).expect(400);
      expect(unknown.body.message).toMatch(/colour/);
    });

    it('replays unchanged (still failing, reasons kept), then corrects and replays into a customer', async () => {
      const { body } = await api().get('/quarantine?field=email&status=open').set(auth).expect(200);
      const entry =
        body.entries.find((e: { reasons: { field: string }[] }) => e.reasons.length === 1) ?? body.entries[0];
      const still = await api().post(`/quarantine/${entry.id}/replay`).set(auth).expect(200);
      expect(still.body.status).toBe('open');
      expect(still.body.reasons.length).toBeGreaterThan(0);

      const fixed = {
        ...entry.record,
        Email: `fixed.${entry.id}@example.org`,
        Phone: null,
        MobilePhone: null,
        MailingCountry: null,
      };
      await api().patch(`/quarantine/${entry.id}`).set(auth).send({ record: fixed }).expect(200);
      const replay = await api().post(`/quarantine/${entry.id}/replay`).set(auth).expect(200);
      expect(replay.body).toMatchObject({ status: 'resolved', reasons: [] });
      const [idRow] = await db.query(
        "SELECT customer_id FROM customer_identities WHERE connection = 'salesforce' AND object = 'Contact' AND external_id = ?",
        [entry.externalId],
      );
      expect(idRow).toBeDefined();
      const audit = (
        await env.app.get(AuditService).list({ entityType: 'quarantine', entityId: String(entry.id) })
      ).entries.map((e) => e.action);
      expect(audit).toEqual(expect.arrayContaining(['quarantine.corrected', 'quarantine.replayed']));
      const created = (
        await env.app.get(AuditService).list({ entityType: 'customer', entityId: idRow.customer_id })
      ).entries.map((e) => e.action);
      expect(created).toContain('customer.created');
      const bulk = await api().post('/quarantine/replay').set(auth).send({}).expect(200);
      expect(bulk.body.replayed).toBeGreaterThan(0);
    });
  });

  describe('identity resolution', () => {
    it('auto-merged high-scoring duplicates and queued the rest, with explanations', async () => {
      const merged = await api().get('/merge-candidates?status=merged').set(auth).expect(200);
      expect(merged.body.candidates.length).toBeGreaterThan(0);
      for (const c of merged.body.candidates) {
        expect(c.score).toBeGreaterThanOrEqual(0.92);
        expect(c.explanation.fields.length).toBeGreaterThanOrEqual(2);
      }
      const loser =
        merged.body.candidates[0].customerA === merged.body.candidates[0].survivorId
          ? merged.body.candidates[0].customerB
          : merged.body.candidates[0].customerA;
      const [row] = await db.query('SELECT merged_into FROM customers WHERE id = ?', [loser]);
      expect(row.merged_into).toBe(merged.body.candidates[0].survivorId);
    });

    it('unmerge restores both records and their identities; merge again via the review queue', async () => {
      const repo = env.app.get(CustomerRepository);
      const merged = await api().get('/merge-candidates?status=merged').set(auth).expect(200);
      // A merge whose survivor is still live: a survivor checked again after its merge can have been merged on into
      // another customer, and undoing the first link of such a chain is refused (409).
      let cand:
        { id: number; survivorId: string; customerA: string; customerB: string; score: number } | undefined;
      for (const c of merged.body.candidates)
        if (!(await repo.get(c.survivorId))?.mergedInto) {
          cand = c;
          break;
        }
      if (!cand) throw new Error('no merge with a live survivor');
      const survivorId = cand.survivorId;
      const loserId = cand.customerA === survivorId ? cand.customerB : cand.customerA;
      const survivorBefore = (await repo.get(survivorId))!;
      const loserBefore = (await repo.get(loserId))!;
      const survivorIds = await repo.identitiesOf(survivorId);
      expect(survivorIds.length).toBeGreaterThanOrEqual(2);
      expect(await repo.identitiesOf(loserId)).toEqual([]);

      const undo = await api().post(`/merges/${cand.id}/undo`).set(auth).expect(200);
      expect(undo.body).toEqual({ survivorId, loserId });
      const s = (await repo.get(survivorId))!;
      const l = (await repo.get(loserId))!;
      expect(l.mergedInto).toBeNull();
      expect(s.version).toBe(survivorBefore.version + 1);
      expect(l.version).toBe(loserBefore.version + 1);
      const loserIds = await repo.identitiesOf(loserId);
      expect(loserIds.length).toBeGreaterThan(0);
      expect([...(await repo.identitiesOf(survivorId)), ...loserIds].length).toBe(survivorIds.length);
      // Fields and provenance at the merge point: the snapshot the merge kept.
      const history = await repo.versions(survivorId);
      expect(history[history.length - 1].cause).toMatchObject({ unmerge: cand.id });
      const loserHistory = await repo.versions(loserId);
      expect(loserHistory.some((v) => (v.cause as { mergedInto?: string }).mergedInto === survivorId)).toBe(
        true,
      );
      expect(l.fields).toEqual(loserBefore.fields);
      expect(l.provenance).toEqual(loserBefore.provenance);
      const actions = (
        await env.app.get(AuditService).list({ entityType: 'customer', entityId: survivorId })
      ).entries.map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['customer.merged', 'customer.unmerged']));
      const mergedEntry = (
        await env.app.get(AuditService).list({ entityType: 'customer', entityId: survivorId })
      ).entries.find((e) => e.action === 'customer.merged')!;
      expect(mergedEntry.payload).toMatchObject({ reason: 'auto', score: cand.score });
      expect((await api().post(`/merges/${cand.id}/undo`).set(auth)).status).toBe(409);
      expect((await env.app.get(AuditService).verify()).ok).toBe(true);
    });
  });

  describe('consent', () => {
    it('records consent per customer with its proof, and a Salesforce opt-out stops SendGrid and reaches HubSpot', async () => {
      const [row] = await db.query(
        "SELECT i.external_id, i.customer_id FROM customer_identities i JOIN customers c ON c.id = i.customer_id WHERE i.connection = 'salesforce' AND c.merged_into IS NULL ORDER BY i.external_id LIMIT 1",
      );
      const consents = await api().get(`/customers/${row.customer_id}/consents`).set(auth).expect(200);
      expect(consents.body.records.length).toBeGreaterThan(0);
      expect(consents.body.records[0]).toMatchObject({
        purpose: 'marketing',
        channel: 'email',
        sourceConnection: 'salesforce',
        proof: { kind: 'record', field: 'emailConsent' },
      });

      env.salesforce.clock.advance?.(60_000);
      env.salesforce.mutate(row.external_id, { HasOptedOutOfEmail: true });
      await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
      const after = await api().get(`/customers/${row.customer_id}/consents`).set(auth).expect(200);
      expect(after.body.latest).toBe('revoked');
      const [ob] = await db.query(
        "SELECT status FROM outbox WHERE connection = 'sendgrid' AND customer_id = ?",
        [row.customer_id],
      );
      expect(ob?.status ?? 'suppressed').toBe('suppressed');
      const customer = (await env.app.get(CustomerRepository).get(row.customer_id))!;
      expect(
        env.hubspot.store
          .all()
          .some((h) => h.props.email === customer.fields.email && h.props.hs_email_optout === 'true'),
      ).toBe(true);
    });
  });
});
