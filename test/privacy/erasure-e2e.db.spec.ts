// Erasure end to end: one vendor down during the request, the request waits for it, completes when it returns,
// and leaves the person nowhere in any sandbox's full state (Salesforce's recycle bin and HubSpot's archived contacts
// included: erasure uses the vendors' permanent deletions) and nowhere in the store, with the audit chain intact.
import { outboundMessage } from '../../connectors/salesforce/conformance';
import { SF_WEBHOOK_SECRET, startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { ActorType } from '../../src/audit/audit.types';
import { AuditService } from '../../src/audit/audit.service';
import { ErasureService, ErasureStatus } from '../../src/privacy/erasure.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../../src/sync/sync.types';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';
import { storeText } from './store-text';

const target = testDatabaseTarget();

/** Live records only (the person is there before the erasure). */
function live(records: unknown[]): string {
  return JSON.stringify(
    records.filter(
      (r) => !(r as { IsDeleted?: boolean }).IsDeleted && !(r as { archived?: boolean }).archived,
    ),
  ).toLowerCase();
}

/** A sandbox's whole state: every record it holds, deleted, archived or in a recycle bin, and its summary. */
function full(state: { summary: unknown; records: unknown[] }): string {
  return JSON.stringify(state).toLowerCase();
}

describe(`erasure with a vendor down (${target.type})`, () => {
  let env: Environment;
  let db: Database;

  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 80,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', ERASURE_SWEEP_MS: '0' },
    });
    db = env.app.get(Database);
    const run = await env.app
      .get(SyncRunner)
      .run('sf-contacts', { trigger: RunTrigger.Manual, actor: { type: ActorType.Cli, id: 'test' } });
    expect(run.status).toBe(RunStatus.Succeeded);
  });
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  const post = (path: string) =>
    fetch(`${env.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${env.token}` } });

  it('erases across every vendor once the one that was down comes back', async () => {
    const [pick] = await db.query(
      'SELECT customer_id FROM customer_identities GROUP BY customer_id HAVING COUNT(DISTINCT connection) = 3 ORDER BY customer_id LIMIT 1',
    );
    expect(pick).toBeDefined();
    const customerId = pick.customer_id as string;
    const person = (await env.app.get(CustomerRepository).get(customerId))!;
    const email = String(person.fields.email).toLowerCase();
    const traces = [
      email,
      person.fields.phone,
      person.fields.firstName && `"${person.fields.firstName}"`,
      person.fields.lastName && `"${person.fields.lastName}"`,
    ]
      .filter((v): v is string => typeof v === 'string' && v.length > 2)
      .map((v) => v.toLowerCase());
    for (const s of [env.salesforce, env.hubspot, env.sendgrid])
      expect(live(s.state().records)).toContain(email);

    const other = (env.salesforce.state().records as Record<string, unknown>[]).find(
      (r) =>
        !r.IsDeleted &&
        typeof r.Email === 'string' &&
        r.Email.includes('@') &&
        !String(r.Email).toLowerCase().includes(email),
    )!;
    const binnedEmail = String(other.Email).trim().toLowerCase();
    env.salesforce.deleteRecord(String(other.Id));

    // A delivery about the person waits in the webhook inbox (a raw vendor payload, sealed at rest).
    const [sfIdentity] = await db.query(
      "SELECT external_id FROM customer_identities WHERE customer_id = ? AND connection = 'salesforce'",
      [customerId],
    );
    const delivery = outboundMessage(env.salesforce, [sfIdentity.external_id], { token: SF_WEBHOOK_SECRET });
    const body = delivery.rawBody.toString('utf8');
    // Its event id is the notification's id (other deliveries from the sandboxes may arrive meanwhile).
    const delivered = [...body.matchAll(/>(04l[0-9A-Za-z]+)</g)].map((m) => m[1]);
    expect(delivered.length).toBe(1);
    const ack = await fetch(`${env.url}/webhooks/salesforce?token=${SF_WEBHOOK_SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
    });
    expect(ack.status).toBe(200);
    const [stored] = await db.query(
      'SELECT COUNT(*) AS n FROM webhook_inbox WHERE connection = ? AND event_id = ?',
      ['salesforce', delivered[0]],
    );
    expect(Number(stored.n)).toBe(1);

    env.hubspot.faults.configure({ outageUntil: Date.now() + 10 * 60_000 });
    const res = await post(`/customers/${customerId}/erasure`);
    expect(res.status).toBe(202);
    const request = (await res.json()) as { id: string };
    // The inbox is scrubbed with the request: the event is blanked and will never be processed.
    expect(
      await db.query('SELECT status FROM webhook_inbox WHERE connection = ? AND event_id = ?', [
        'salesforce',
        delivered[0],
      ]),
    ).toEqual([{ status: 'erased' }]);
    const erasure = env.app.get(ErasureService);
    await erasure.processDue({ ignoreSchedule: true });

    let view = (await erasure.status(request.id))!;
    expect(view.status).toBe(ErasureStatus.Pending);
    const hub = view.steps.filter((s) => s.connection === 'hubspot');
    expect(hub.length).toBeGreaterThan(0);
    expect(hub.every((s) => s.status === 'failed' && s.attempts >= 1 && s.nextAttemptAt && s.lastError)).toBe(
      true,
    );
    expect(view.steps.filter((s) => s.connection !== 'hubspot').every((s) => s.status === 'confirmed')).toBe(
      true,
    );
    // Asking again is the same request.
    expect(((await (await post(`/customers/${customerId}/erasure`)).json()) as { id: string }).id).toBe(
      request.id,
    );
    // Already anonymized in the store while the vendor is still pending; a re-read does not bring the person back.
    expect((await env.app.get(CustomerRepository).get(customerId))!.fields).toEqual({});
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect((await env.app.get(CustomerRepository).get(customerId))!.fields).toEqual({});

    env.hubspot.faults.configure({ outageUntil: 0 });
    await erasure.processDue({ ignoreSchedule: true });
    view = (await erasure.status(request.id))!;
    expect(view.steps.map((s) => s.status)).toEqual(view.steps.map(() => 'confirmed'));
    expect(view.status).toBe(ErasureStatus.Completed);

    // Everything each sandbox holds: deleted, archived and recycle-bin records are part of state().records.
    const sfText = full(env.salesforce.state());
    // The check sees the recycle bin: someone else's record deleted by a user is still there, IsDeleted.
    expect(sfText).toContain(binnedEmail);
    expect((env.salesforce.state().summary as { recordsTruncated?: boolean }).recordsTruncated).toBe(false);
    expect((env.hubspot.state().summary as { truncated?: boolean }).truncated).toBe(false);
    for (const [name, text] of [
      ['salesforce', sfText],
      ['hubspot', full(env.hubspot.state())],
      ['sendgrid', full(env.sendgrid.state())],
    ] as const) {
      expect({ name, found: traces.filter((t) => text.includes(t)) }).toEqual({ name, found: [] });
    }
    for (const s of view.steps) {
      if (s.connection === 'salesforce') expect(env.salesforce.store.locate(s.externalId)).toBeUndefined();
      if (s.connection === 'hubspot') expect(env.hubspot.store.get(s.externalId, true)).toBeUndefined();
    }
    const store = await storeText(db, target);
    expect(traces.filter((t) => store.includes(t))).toEqual([]);
    expect(await db.query('SELECT * FROM customer_identities WHERE customer_id = ?', [customerId])).toEqual(
      [],
    );
    const audit = env.app.get(AuditService);
    expect(await audit.verify()).toMatchObject({ ok: true });
    expect((await audit.verify()).redacted).toBeGreaterThan(0);
    const proof = (await audit.list({ entityId: request.id })).entries.map((e) => e.action);
    expect(proof).toEqual(['erasure.requested', 'erasure.completed']);
  });
});
