import { ActorType } from '../../src/audit/audit.types';
import { AuditService } from '../../src/audit/audit.service';
import { ApplyAction, CustomerWriter, type InboundRecord } from '../../src/canonical/customer-writer.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database, StaleVersionError } from '../../src/store/database';
import { startTestApp, type TestApp } from '../support/test-app';

const actor = { type: ActorType.SyncRun, id: 'run-1' };

function rec(
  externalId: string,
  at: string,
  fields: InboundRecord['change']['fields'],
  connection = 'sf',
): InboundRecord {
  return {
    identity: { connection, object: 'Contact', externalId },
    change: { connection, sourceTimestamp: at, fields },
  };
}

describe(`versioned customer store (${process.env.DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite'})`, () => {
  let t: TestApp;
  let db: Database;
  let writer: CustomerWriter;
  let repo: CustomerRepository;
  let audit: AuditService;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(Database);
    writer = t.app.get(CustomerWriter);
    repo = t.app.get(CustomerRepository);
    audit = t.app.get(AuditService);
  });
  afterAll(() => t.close());

  const countAudit = async () => Number((await db.query('SELECT COUNT(*) AS n FROM audit_entries'))[0].n);

  it('creates, versions and reads back every past version', async () => {
    const [created] = await db.transaction((tx) =>
      writer.apply(
        tx,
        [rec('003A', '2026-01-01T00:00:00.000Z', { email: 'ada@example.com', firstName: 'Ada' })],
        { actor },
      ),
    );
    expect(created.action).toBe(ApplyAction.Created);
    expect(created.version).toBe(1);
    await db.transaction((tx) =>
      writer.apply(tx, [rec('003A', '2026-01-02T00:00:00.000Z', { firstName: 'Augusta' })], { actor }),
    );
    await db.transaction((tx) =>
      writer.apply(
        tx,
        [rec('003A', '2026-01-03T00:00:00.000Z', { lastName: 'King', firstName: 'Augusta' })],
        { actor },
      ),
    );
    const id = created.customerId;
    const current = await repo.get(id);
    expect(current!.version).toBe(3);
    expect(current!.fields).toEqual({ email: 'ada@example.com', firstName: 'Augusta', lastName: 'King' });
    const versions = await repo.versions(id);
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(versions[1].changes).toEqual([{ field: 'firstName', before: 'Ada', after: 'Augusta' }]);
    expect(versions[2].changes).toEqual([{ field: 'lastName', before: null, after: 'King' }]);
    expect(versions[1].cause).toMatchObject({ actorType: 'sync-run', actorId: 'run-1', connection: 'sf' });
    expect(await repo.fieldsAtVersion(id, 1)).toEqual({ email: 'ada@example.com', firstName: 'Ada' });
    expect(await repo.fieldsAtVersion(id, 2)).toEqual({ email: 'ada@example.com', firstName: 'Augusta' });
    expect(await repo.fieldsAtVersion(id, 4)).toBeNull();
  });

  it('writes nothing for a replay: no version, no history row, no audit entry', async () => {
    const input = [rec('003B', '2026-01-01T00:00:00.000Z', { email: 'bo@example.com' })];
    const [first] = await db.transaction((tx) => writer.apply(tx, input, { actor }));
    const before = await countAudit();
    const [again] = await db.transaction((tx) => writer.apply(tx, input, { actor }));
    expect(again).toMatchObject({ action: ApplyAction.Unchanged, version: 1, customerId: first.customerId });
    expect(await countAudit()).toBe(before);
    expect((await repo.versions(first.customerId)).length).toBe(1);
  });

  it('resolves identity by normalized email across connections', async () => {
    const [a] = await db.transaction((tx) =>
      writer.apply(tx, [rec('003C', '2026-01-01T00:00:00.000Z', { email: 'Cy@Example.com ' })], { actor }),
    );
    const [b] = await db.transaction((tx) =>
      writer.apply(
        tx,
        [rec('hs-1', '2026-01-02T00:00:00.000Z', { email: 'cy@example.com', phone: '+14155550100' }, 'hs')],
        { actor },
      ),
    );
    expect(b.customerId).toBe(a.customerId);
    expect((await repo.identitiesOf(a.customerId)).map((i) => i.connection)).toEqual(['hs', 'sf']);
  });

  it('merges two records of one person in the same page into one customer with two versions', async () => {
    const out = await db.transaction((tx) =>
      writer.apply(
        tx,
        [
          rec('003D', '2026-01-01T00:00:00.000Z', { email: 'di@example.com', firstName: 'Di' }),
          rec('003E', '2026-01-02T00:00:00.000Z', { email: 'DI@example.com', lastName: 'Ng' }),
        ],
        { actor },
      ),
    );
    expect(out[1].customerId).toBe(out[0].customerId);
    expect(out.map((o) => o.version)).toEqual([1, 2]);
  });

  it('writes nothing for a replay of two records of one person changed in the same second', async () => {
    // One mass update gave both records one timestamp; their values differ. A source read again (a cursor's
    // open second, a look-back, a resumed run) replays both, in either order.
    const at = '2026-01-01T00:00:00.000Z';
    const page = [
      rec('003J', at, { email: 'jo@example.com', firstName: 'Jo', jobTitle: 'Mass edited' }),
      rec('003K', at, { email: 'JO@example.com', firstName: 'Joanna', jobTitle: 'Mass edited' }),
    ];
    const first = await db.transaction((tx) => writer.apply(tx, page, { actor }));
    const id = first[0].customerId;
    expect(first[1].customerId).toBe(id);
    const versions = (await repo.versions(id)).length;
    const auditBefore = await countAudit();
    for (const replay of [page, [...page].reverse(), [page[0]]]) {
      const again = await db.transaction((tx) => writer.apply(tx, replay, { actor }));
      expect(again.map((o) => o.action)).toEqual(replay.map(() => ApplyAction.Unchanged));
    }
    expect((await repo.versions(id)).length).toBe(versions);
    expect(await countAudit()).toBe(auditBefore);
    // The higher record id holds the field, whichever record came last.
    expect((await repo.get(id))!.fields.firstName).toBe('Joanna');
  });

  it('loses no update when many writers change one customer concurrently', async () => {
    const [seed] = await db.transaction((tx) =>
      writer.apply(tx, [rec('003F', '2026-01-01T00:00:00.000Z', { email: 'fay@example.com' })], { actor }),
    );
    const writers = 24;
    await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        db.transaction((tx) =>
          writer.apply(
            tx,
            [
              rec('003F', `2026-01-02T00:00:${String(i).padStart(2, '0')}.000Z`, {
                [`custom.f${i}`]: `v${i}`,
              }),
            ],
            {
              actor: { type: ActorType.Webhook, id: `d${i}` },
            },
          ),
        ),
      ),
    );
    const c = await repo.get(seed.customerId);
    expect(c!.version).toBe(writers + 1);
    for (let i = 0; i < writers; i++) expect(c!.fields[`custom.f${i}`]).toBe(`v${i}`);
    expect((await repo.versions(seed.customerId)).map((v) => v.version)).toEqual(
      Array.from({ length: writers + 1 }, (_, i) => i + 1),
    );
    expect((await audit.verify()).ok).toBe(true);
  });

  it('rejects a write based on a stale version', async () => {
    const [seed] = await db.transaction((tx) =>
      writer.apply(tx, [rec('003G', '2026-01-01T00:00:00.000Z', { email: 'gus@example.com' })], { actor }),
    );
    const stale = (await repo.get(seed.customerId))!;
    await db.transaction((tx) =>
      writer.apply(tx, [rec('003G', '2026-01-02T00:00:00.000Z', { firstName: 'Gus' })], { actor }),
    );
    let caught: unknown;
    await expect(
      db.transaction(async (tx) => {
        try {
          await repo.updateCustomer(
            tx,
            { ...stale, version: stale.version + 1, fields: { lost: 'update' } },
            stale.version,
          );
        } catch (err) {
          caught = err;
          throw err;
        }
      }, 0),
    ).rejects.toThrow(/gave up after 0 conflict retries: stale version/);
    expect(caught).toBeInstanceOf(StaleVersionError);
    expect((await repo.get(seed.customerId))!.fields).toEqual({ email: 'gus@example.com', firstName: 'Gus' });
  });

  it('updates a batch of customers in one statement, and refuses the whole batch if one is stale', async () => {
    const seeded = await db.transaction((tx) =>
      writer.apply(
        tx,
        [
          rec('003K1', '2026-01-01T00:00:00.000Z', { email: 'kim@example.com' }),
          rec('003K2', '2026-01-01T00:00:00.000Z', { email: 'kit@example.com' }),
          rec('003K3', '2026-01-01T00:00:00.000Z', { email: 'kai@example.com' }),
        ],
        { actor },
      ),
    );
    const rows = await Promise.all(seeded.map(async (s) => (await repo.get(s.customerId))!));
    await db.transaction((tx) =>
      repo.updateCustomers(
        tx,
        rows.map((r, i) => ({
          row: {
            ...r,
            version: r.version + 1,
            fields: { ...r.fields, firstName: `K${i}` },
            mergedInto: null,
          },
          expectedVersion: r.version,
        })),
      ),
    );
    const after = await Promise.all(rows.map(async (r) => (await repo.get(r.id))!));
    expect(after.map((r) => [r.version, r.fields.firstName])).toEqual([
      [2, 'K0'],
      [2, 'K1'],
      [2, 'K2'],
    ]);

    // One of three stale (still at version 1): nothing of the batch is written.
    await expect(
      db.transaction(
        (tx) =>
          repo.updateCustomers(tx, [
            { row: { ...after[0], version: 3, fields: { lost: 'a' } }, expectedVersion: 2 },
            { row: { ...after[1], version: 3, fields: { lost: 'b' } }, expectedVersion: 1 },
            { row: { ...after[2], version: 3, fields: { lost: 'c' } }, expectedVersion: 2 },
          ]),
        0,
      ),
    ).rejects.toThrow(/stale version of customer/);
    const unchanged = await Promise.all(rows.map(async (r) => (await repo.get(r.id))!));
    expect(unchanged.map((r) => [r.version, r.fields.firstName])).toEqual([
      [2, 'K0'],
      [2, 'K1'],
      [2, 'K2'],
    ]);
  });

  it('leaves neither change nor audit entry when the transaction fails', async () => {
    const before = await countAudit();
    await expect(
      db.transaction(async (tx) => {
        await writer.apply(tx, [rec('003H', '2026-01-01T00:00:00.000Z', { email: 'hal@example.com' })], {
          actor,
        });
        throw new Error('boom after the write');
      }),
    ).rejects.toThrow('boom after the write');
    expect(await countAudit()).toBe(before);
    expect(await db.query("SELECT * FROM customer_identities WHERE external_id = '003H'")).toEqual([]);
    expect((await audit.verify()).ok).toBe(true);
  });
});
