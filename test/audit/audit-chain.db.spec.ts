import { AuditService } from '../../src/audit/audit.service';
import { ActorType, AuditEntity, type AuditInput } from '../../src/audit/audit.types';
import { CustomerWriter } from '../../src/canonical/customer-writer.service';
import { FieldCipher } from '../../src/privacy/field-cipher';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { startTestApp, type TestApp } from '../support/test-app';

const entry = (i: number): AuditInput => ({
  actor: { type: ActorType.Api, id: 'token:abc' },
  entityType: AuditEntity.Customer,
  entityId: `c-${i % 3}`,
  action: 'customer.updated',
  payload: { version: i, changes: [{ field: 'firstName', before: `n${i}`, after: `n${i + 1}` }] },
  correlationId: `corr-${i}`,
});

describe(`audit hash chain (${process.env.DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite'})`, () => {
  let t: TestApp;
  let db: Database;
  let audit: AuditService;

  let atBoot = 0;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(Database);
    audit = t.app.get(AuditService);
    // Boot writes its own entries (e.g. the mapping versions); the chain covers them too.
    atBoot = (await audit.verify()).checked;
    for (let i = 0; i < 12; i += 3)
      await db.transaction((tx) => audit.append(tx, [entry(i), entry(i + 1), entry(i + 2)]));
    // Concurrent appenders must still produce intact chains.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => db.transaction((tx) => audit.append(tx, [entry(100 + i)]))),
    );
  });
  afterAll(() => t.close());

  async function rowOf(seq: number) {
    return (await db.query('SELECT * FROM audit_entries WHERE seq = ?', [seq]))[0];
  }
  async function middleSeq(): Promise<number> {
    const rows = await db.query('SELECT seq FROM audit_entries ORDER BY seq');
    return Number(rows[Math.floor(rows.length / 2)].seq);
  }

  it('verifies an untouched chain', async () => {
    const report = await audit.verify();
    expect(report).toMatchObject({ ok: true, checked: atBoot + 22 });
  });

  it('detects an edited payload and names the entry', async () => {
    const seq = await middleSeq();
    const original = await rowOf(seq);
    await db.transaction((tx) =>
      tx.execute('UPDATE audit_entries SET payload = ? WHERE seq = ?', ['{"version":999}', seq]),
    );
    const report = await audit.verify();
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ seq, reason: expect.stringMatching(/payload edited/) });
    await db.transaction((tx) =>
      tx.execute('UPDATE audit_entries SET payload = ? WHERE seq = ?', [original.payload, seq]),
    );
    expect((await audit.verify()).ok).toBe(true);
  });

  it('detects edited metadata (the action) even with a matching payload', async () => {
    const seq = await middleSeq();
    await db.transaction((tx) =>
      tx.execute("UPDATE audit_entries SET action = 'customer.deleted' WHERE seq = ?", [seq]),
    );
    const report = await audit.verify();
    expect(report.firstBroken).toMatchObject({ seq, reason: expect.stringMatching(/entry edited/) });
    await db.transaction((tx) =>
      tx.execute("UPDATE audit_entries SET action = 'customer.updated' WHERE seq = ?", [seq]),
    );
    expect((await audit.verify()).ok).toBe(true);
  });

  it('detects a deleted entry in the middle and at the end of a chain', async () => {
    const seq = await middleSeq();
    const original = await rowOf(seq);
    const columns = Object.keys(original);
    const restore = () =>
      db.transaction((tx) => tx.insertMany('audit_entries', columns, [columns.map((c) => original[c])]));
    await db.transaction((tx) => tx.execute('DELETE FROM audit_entries WHERE seq = ?', [seq]));
    const report = await audit.verify();
    expect(report.ok).toBe(false);
    expect(report.firstBroken!.reason).toMatch(/missing/);
    await restore();
    expect((await audit.verify()).ok).toBe(true);

    const last = (await db.query('SELECT * FROM audit_entries ORDER BY seq DESC LIMIT 1'))[0];
    await db.transaction((tx) => tx.execute('DELETE FROM audit_entries WHERE seq = ?', [last.seq]));
    const tail = await audit.verify();
    expect(tail.ok).toBe(false);
    expect(tail.firstBroken!.reason).toMatch(/deleted at the end/);
    await db.transaction((tx) => tx.insertMany('audit_entries', columns, [columns.map((c) => last[c])]));
    expect((await audit.verify()).ok).toBe(true);
  });

  it('detects two entries swapped in order', async () => {
    const [longest] = await db.query(
      'SELECT chain, COUNT(*) AS n FROM audit_entries GROUP BY chain ORDER BY COUNT(*) DESC LIMIT 1',
    );
    const rows = await db.query('SELECT * FROM audit_entries WHERE chain = ? ORDER BY pseq LIMIT 3', [
      longest.chain,
    ]);
    const [a, b] = [rows[1], rows[2]];
    const place = (aPseq: number, bPseq: number) =>
      db.transaction(async (tx) => {
        await tx.execute('UPDATE audit_entries SET pseq = -1 WHERE seq = ?', [a.seq]);
        await tx.execute('UPDATE audit_entries SET pseq = ? WHERE seq = ?', [bPseq, b.seq]);
        await tx.execute('UPDATE audit_entries SET pseq = ? WHERE seq = ?', [aPseq, a.seq]);
      });
    // Swap the two entries' positions in the chain.
    await place(b.pseq, a.pseq);
    const report = await audit.verify();
    expect(report.ok).toBe(false);
    expect(report.firstBroken!.reason).toMatch(/previous-hash link|entry edited/);
    await place(a.pseq, b.pseq);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('lists with filters and cursor pagination', async () => {
    const page1 = await audit.list({ entityId: 'c-1', limit: 2 });
    expect(page1.entries).toHaveLength(2);
    expect(page1.entries.every((e) => e.entityId === 'c-1')).toBe(true);
    const page2 = await audit.list({ entityId: 'c-1', limit: 2, after: Number(page1.nextCursor) });
    expect(page2.entries[0].seq).toBeGreaterThan(page1.entries[1].seq);
    expect((await audit.list({ actorType: 'cli' })).entries).toEqual([]);
  });

  it("keeps a customer change's values once, in its version row, and still detects an edited or lost version row", async () => {
    const writer = t.app.get(CustomerWriter);
    const actor = { type: ActorType.SyncRun, id: 'run-audit' };
    const rec = (at: string, fields: Record<string, string>) => ({
      identity: { connection: 'sf', object: 'Contact', externalId: '003AUDIT' },
      change: { connection: 'sf', sourceTimestamp: at, fields },
    });
    const [created] = await db.transaction((tx) =>
      writer.apply(tx, [rec('2026-01-01T00:00:00.000Z', { email: 'ada@example.com', firstName: 'Ada' })], {
        actor,
      }),
    );
    await db.transaction((tx) =>
      writer.apply(tx, [rec('2026-01-02T00:00:00.000Z', { lastName: 'Lovelace', title: 'Countess' })], {
        actor,
      }),
    );
    const id = created.customerId;
    const versions = await t.app.get(CustomerRepository).versions(id);
    const { entries } = await audit.list({ entityId: id });
    // Readers get the payload whole: its changes are the version's, values included.
    expect(entries.map((e) => e.action)).toEqual(['customer.created', 'customer.updated']);
    expect(entries.map((e) => (e.payload as { changes: unknown }).changes)).toEqual(
      versions.map((v) => v.changes),
    );
    expect((entries[1].payload as { changes: unknown }).changes).toEqual([
      { field: 'lastName', before: null, after: 'Lovelace' },
      { field: 'title', before: null, after: 'Countess' },
    ]);
    expect(entries[1].payload).toMatchObject({ version: 2, source: { externalId: '003AUDIT' } });
    // What is stored is a reference, not a second copy of the values: nothing personal, so not sealed either.
    for (const e of entries) {
      const raw: string = (await rowOf(e.seq)).payload;
      expect(FieldCipher.isToken(raw)).toBe(false);
      expect(raw).not.toMatch(/ada@example\.com|Ada|Lovelace|Countess/);
      const stored = JSON.parse(raw);
      expect(stored).not.toHaveProperty('changes');
      expect(stored['~changes']).toBe('customer_versions');
    }
    expect((await audit.verify()).ok).toBe(true);

    // The entry's digest covers the version row's changes: editing them breaks the chain's verification.
    const seq = entries[1].seq;
    const [row] = await db.query(
      'SELECT changes FROM customer_versions WHERE customer_id = ? AND version = 2',
      [id],
    );
    const setChanges = (changes: string) =>
      db.transaction((tx) =>
        tx.execute('UPDATE customer_versions SET changes = ? WHERE customer_id = ? AND version = 2', [
          changes,
          id,
        ]),
      );
    await setChanges(JSON.stringify([{ field: 'title', before: null, after: 'Duchess' }]));
    expect((await audit.verify()).firstBroken).toMatchObject({
      seq,
      reason: expect.stringMatching(/version row holding its changes edited/),
    });
    await setChanges(row.changes);
    expect((await audit.verify()).ok).toBe(true);

    // A lost version row is named, not read as "no changes".
    const [version] = await db.query(
      'SELECT * FROM customer_versions WHERE customer_id = ? AND version = 2',
      [id],
    );
    const columns = Object.keys(version);
    await db.transaction((tx) =>
      tx.execute('DELETE FROM customer_versions WHERE customer_id = ? AND version = 2', [id]),
    );
    expect((await audit.verify()).firstBroken).toMatchObject({
      seq,
      reason: expect.stringMatching(/version 2 of .* which holds its changes, is missing/),
    });
    await expect(audit.list({ entityId: id })).rejects.toThrow(/is missing/);
    await db.transaction((tx) =>
      tx.insertMany('customer_versions', columns, [columns.map((c) => version[c])]),
    );
    expect((await audit.verify()).ok).toBe(true);
  });
});
