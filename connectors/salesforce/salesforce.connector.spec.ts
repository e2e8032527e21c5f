// The Salesforce connector end to end: Nest module -> connector -> jsforce -> sandbox over loopback HTTP.
import { Test, type TestingModule } from '@nestjs/testing';
import {
  type ConnectionContext,
  type Connector,
  ConnectorError,
  ConnectorErrorCode,
  ConnectorRegistry,
  InProcessRateLimiter,
  type RateBudget,
  RateLimiter,
  ReadMode,
  type ReadPage,
  WriteStatus,
} from '../../src/connectors';
import { ConnectorsModule } from '../../src/connectors/connectors.module';
import { MappingModule } from '../../src/mapping';
import { connectionFor } from './conformance';
import { startSandbox, type SalesforceSandbox } from './sandbox';
import { SCHEMAS, SLOT_IS_DELETED } from './sandbox/salesforce-schema';
import { decodeCursor, OPEN_SECOND_GRACE_MS } from './salesforce.connector';

/** The real in-process limiter, counting what the connector asks of it. */
class CountingRateLimiter extends InProcessRateLimiter {
  acquired = 0;
  paused: number[] = [];
  override acquire(key: string, budget: RateBudget, signal?: AbortSignal): Promise<void> {
    this.acquired++;
    return super.acquire(key, budget, signal);
  }
  override pause(key: string, untilMs: number): void {
    this.paused.push(untilMs);
    // Do not really hold the next tests back.
    super.pause(key, Date.now());
  }
}

async function collect(it: AsyncIterable<ReadPage>): Promise<ReadPage[]> {
  const pages: ReadPage[] = [];
  for await (const p of it) pages.push(p);
  return pages;
}

async function errorOf(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectorError) return e;
    throw e;
  }
  throw new Error('expected a ConnectorError');
}

/** A cursor past everything the sandbox holds now, seeded deletions included (an incremental sync done). */
async function caughtUp(connector: Connector, conn: ConnectionContext, object = 'Contact'): Promise<string> {
  const full = await collect(connector.read(conn, object, null, { mode: ReadMode.Full, pageSize: 2000 }));
  const inc = await collect(
    connector.read(conn, object, full[full.length - 1].cursor, {
      mode: ReadMode.Incremental,
      pageSize: 2000,
    }),
  );
  return inc[inc.length - 1].cursor as string;
}

const SCHEMA_EMAIL_SLOT = (): number => SCHEMAS.Contact.byLowerName.get('email')!.slot;

function liveIds(sb: SalesforceSandbox, object: 'Contact' | 'Lead' = 'Contact'): string[] {
  return [...sb.store.table(object).byId.values()]
    .filter((r) => r[SLOT_IS_DELETED] === false)
    .map((r) => r[0] as string);
}

describe('SalesforceConnector against the sandbox', () => {
  let sb: SalesforceSandbox;
  let moduleRef: TestingModule;
  let connector: Connector;
  let limiter: CountingRateLimiter;
  let conn: ConnectionContext;
  let n = 0;

  beforeAll(async () => {
    sb = await startSandbox({ seed: 11, count: 0 });
    limiter = new CountingRateLimiter();
    moduleRef = await Test.createTestingModule({
      imports: [MappingModule.forRoot(), ConnectorsModule.forRoot({ only: ['salesforce'] })],
    })
      .overrideProvider(RateLimiter)
      .useValue(limiter)
      .compile();
    await moduleRef.init();
    connector = moduleRef.get(ConnectorRegistry).get('salesforce');
  });
  afterAll(async () => {
    await moduleRef?.close();
    await sb?.close();
  });
  beforeEach(() => {
    sb.reset();
    sb.seed(400, 11);
    limiter.acquired = 0;
    limiter.paused = [];
    // A fresh connection id per test, so no client (or token) is shared between tests.
    conn = connectionFor(sb, `sf-${++n}`);
  });

  it('is discovered with its manifest', () => {
    expect(connector.manifest).toMatchObject({
      id: 'salesforce',
      kind: 'crm',
      objects: ['Contact', 'Lead'],
      limits: { maxBatchSize: 200 },
    });
    expect(connector.manifest.capabilities).toEqual([
      'incremental-read',
      'full-read',
      'batch-write',
      'delete',
      'webhooks',
    ]);
  });

  describe('credentials', () => {
    it('check succeeds with a valid token and reports auth for a rejected one', async () => {
      await expect(connector.check(conn)).resolves.toBeUndefined();
      const bad = { ...conn, id: 'sf-bad', credentials: { instanceUrl: sb.url, accessToken: 'nope' } };
      const err = await errorOf(connector.check(bad));
      expect(err.code).toBe(ConnectorErrorCode.Auth);
      expect(err.details.vendorCode).toBe('INVALID_SESSION_ID');
    });

    it('gets a token by the OAuth client-credentials flow against baseUrl', async () => {
      const c = sb.credentials;
      const cc = { ...conn, credentials: { clientId: c.clientId, clientSecret: c.clientSecret } };
      await connector.check(cc);
      const records = await collect(connector.read(cc, 'Lead', null, { mode: ReadMode.Full }));
      expect(records.flatMap((p) => p.records)).toHaveLength(liveIds(sb, 'Lead').length);
      const wrong = {
        ...conn,
        id: 'sf-cc-bad',
        credentials: { clientId: c.clientId, clientSecret: 'wrong' },
      };
      const err = await errorOf(connector.check(wrong));
      expect(err.code).toBe(ConnectorErrorCode.Auth);
      expect(err.details.vendorCode).toBe('invalid_client');
    });

    it('refreshes once on INVALID_SESSION_ID with the refresh token, then reports auth if that fails too', async () => {
      await connector.check(conn);
      sb.expireSessions();
      await expect(connector.check(conn)).resolves.toBeUndefined(); // refreshed and repeated once

      const c = sb.credentials;
      const noRefresh = {
        ...conn,
        id: 'sf-no-refresh',
        credentials: { instanceUrl: c.instanceUrl, accessToken: c.accessToken },
      };
      sb.expireSessions();
      expect((await errorOf(connector.check(noRefresh))).code).toBe(ConnectorErrorCode.Auth);

      const badRefresh = {
        ...conn,
        id: 'sf-bad-refresh',
        credentials: { ...conn.credentials, refreshToken: 'revoked' },
      };
      sb.expireSessions();
      const err = await errorOf(connector.check(badRefresh));
      expect(err.code).toBe(ConnectorErrorCode.Auth);
      expect(err.details.vendorCode).toBe('invalid_grant');
    });
  });

  describe('read', () => {
    it('a full read returns exactly the live seeded records, paged by (SystemModstamp, Id)', async () => {
      const pages = await collect(
        connector.read(conn, 'Contact', null, { mode: ReadMode.Full, pageSize: 50 }),
      );
      const ids = pages.flatMap((p) => p.records.map((r) => r.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(liveIds(sb).sort());
      expect(pages.length).toBe(Math.floor(ids.length / 50) + 1);
      expect(pages.every((p) => p.deleted.length === 0)).toBe(true);
      // Every field the mapping reads is selected, the relationship included
      const sample = pages[0].records[0];
      expect(Object.keys(sample.data)).toEqual(
        expect.arrayContaining([
          'Id',
          'Email',
          'FirstName',
          'MailingCountry',
          'Account',
          'Syncline_Id__c',
          'HasOptedOutOfEmail',
        ]),
      );
      expect(sample.modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      const cursors = pages.map((p) => decodeCursor(p.cursor as string));
      for (let i = 1; i < cursors.length; i++) {
        const [a, b] = [cursors[i - 1], cursors[i]];
        expect(a.t < b.t || (a.t === b.t && (a.id as string) < (b.id as string))).toBe(true);
      }
    });

    it('an incremental read after a mass update straddling page boundaries returns exactly the changed records', async () => {
      const cursor = await caughtUp(connector, conn);
      const changed = liveIds(sb).slice(0, 120);
      sb.clock.advance(2_000);
      sb.clock.freeze(); // the first reads come within the mass update's second, however slow the machine
      sb.massUpdate(changed, { Title: 'Mass edited' });
      const pages = await collect(
        connector.read(conn, 'Contact', cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      const ids = pages.flatMap((p) => p.records.map((r) => r.id));
      expect(pages.map((p) => p.records.length)).toEqual([50, 50, 20]);
      // All 120 share one SystemModstamp, so both page boundaries fall inside it
      expect(new Set(pages.flatMap((p) => p.records.map((r) => r.modifiedAt))).size).toBe(1);
      expect(new Set(ids).size).toBe(120);
      expect([...ids].sort()).toEqual([...changed].sort());
      // Read while the second may still receive records: every cursor starts that whole second again, so a
      // resume after a crash re-reads it from its first record.
      const stamp = pages[0].records[0].modifiedAt;
      for (const p of pages) expect(decodeCursor(p.cursor as string)).toEqual({ t: stamp, id: null });
      const reread = await collect(
        connector.read(conn, 'Contact', pages[0].cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(reread.flatMap((p) => p.records.map((r) => r.id))).toEqual(ids);

      // The same read once the second is closed: resuming from any page's cursor continues right after it
      // (crash recovery), and the end is quiet.
      sb.clock.unfreeze();
      sb.clock.advance(1_000 + OPEN_SECOND_GRACE_MS);
      const closed = await collect(
        connector.read(conn, 'Contact', cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(closed.map((p) => p.records.length)).toEqual([50, 50, 20]);
      expect(closed.flatMap((p) => p.records.map((r) => r.id))).toEqual(ids);
      expect(closed.map((p) => decodeCursor(p.cursor as string))).toEqual(
        [49, 99, 119].map((i) => ({ t: stamp, id: ids[i] })),
      );
      const resumed = await collect(
        connector.read(conn, 'Contact', closed[0].cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(resumed.flatMap((p) => p.records.map((r) => r.id))).toEqual(ids.slice(50));
      const after = await collect(
        connector.read(conn, 'Contact', closed[closed.length - 1].cursor, {
          mode: ReadMode.Incremental,
          pageSize: 50,
        }),
      );
      expect(after).toHaveLength(1);
      expect(after[0]).toEqual({ records: [], deleted: [], cursor: closed[closed.length - 1].cursor });
    });

    it('reads records changed after a read within the same second, even with lower Ids than the cursor', async () => {
      const cursor = await caughtUp(connector, conn);
      const live = [...liveIds(sb)].sort();
      const half = Math.floor(live.length / 2);
      const [lower, upper] = [live.slice(0, half), live.slice(half)];
      // Both mass updates and the read between them fall in one second of the sandbox's clock.
      sb.clock.advance(2_000);
      sb.clock.freeze(Math.floor(sb.clock.now() / 1000) * 1000 + 100);
      sb.massUpdate(upper, { Title: 'First pass' });
      const first = await collect(
        connector.read(conn, 'Contact', cursor, { mode: ReadMode.Incremental, pageSize: 2000 }),
      );
      expect(first.flatMap((p) => p.records.map((r) => r.id))).toEqual(upper);
      sb.massUpdate(lower, { Title: 'Second pass' });

      // The next run reads the whole second again, a page at a time, each record once.
      const second = await collect(
        connector.read(conn, 'Contact', first[first.length - 1].cursor, {
          mode: ReadMode.Incremental,
          pageSize: 50,
        }),
      );
      const ids = second.flatMap((p) => p.records.map((r) => r.id));
      expect(ids).toEqual(live);
      expect(
        second
          .flatMap((p) => p.records)
          .every((r) => r.data.Title === (lower.includes(r.id) ? 'Second pass' : 'First pass')),
      ).toBe(true);

      // Once the second is over, a read ends with an exact cursor and the run after it finds nothing.
      sb.clock.unfreeze();
      sb.clock.advance(5_000);
      const closing = await collect(
        connector.read(conn, 'Contact', second[second.length - 1].cursor, {
          mode: ReadMode.Incremental,
          pageSize: 2000,
        }),
      );
      const end = closing[closing.length - 1].cursor as string;
      expect(decodeCursor(end)).toEqual({ t: expect.any(String), id: live[live.length - 1] });
      const quiet = await collect(connector.read(conn, 'Contact', end, { mode: ReadMode.Incremental }));
      expect(quiet).toEqual([{ records: [], deleted: [], cursor: end }]);
    });

    it('a second still open when a read first reached it stays open in the cursors, however long the read takes', async () => {
      const cursor = await caughtUp(connector, conn);
      const changed = liveIds(sb).slice(0, 120);
      sb.clock.advance(2_000);
      sb.clock.freeze();
      sb.massUpdate(changed, { Title: 'Mass edited' });
      const pages = connector.read(conn, 'Contact', cursor, { mode: ReadMode.Incremental, pageSize: 50 });
      const cursors: string[] = [];
      for await (const page of pages) {
        cursors.push(page.cursor as string);
        // The second is long over by the time the next pages are read, but records could have been added to
        // it, with lower Ids, after the first page passed them.
        sb.clock.advance(60_000);
      }
      expect(cursors).toHaveLength(3);
      expect(new Set(cursors.map((c) => decodeCursor(c).id))).toEqual(new Set([null]));
      // The next read takes the second again, now closed, and ends exactly.
      const next = await collect(
        connector.read(conn, 'Contact', cursors[2], { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(next.flatMap((p) => p.records)).toHaveLength(120);
      expect(decodeCursor(next[next.length - 1].cursor as string).id).not.toBeNull();
    });

    it('applies the optional look-back window to incremental reads only at their start', async () => {
      const cursor = await caughtUp(connector, conn);
      const withLookback = { ...conn, settings: { ...conn.settings, lookbackSeconds: 5 } };
      sb.clock.advance(2_000);
      const [a, b] = liveIds(sb).slice(0, 2);
      sb.mutate(a, { Title: 'one' });
      sb.clock.advance(10_000);
      sb.mutate(b, { Title: 'two' });
      const plain = await collect(connector.read(conn, 'Contact', cursor, { mode: ReadMode.Incremental }));
      expect(plain.flatMap((p) => p.records.map((r) => r.id))).toEqual([a, b]);
      const lastCursor = plain[plain.length - 1].cursor;
      // From the last cursor: b is 0 s behind it (re-read), a is 10 s behind (outside the 5 s window)
      const again = await collect(
        connector.read(withLookback, 'Contact', lastCursor, { mode: ReadMode.Incremental }),
      );
      expect(again.flatMap((p) => p.records.map((r) => r.id))).toEqual([b]);
    });

    it('reports deletions from queryAll, and from getDeleted when the recycle bin no longer has them', async () => {
      const cursor = await caughtUp(connector, conn);
      const [d1, d2, gone, edited] = liveIds(sb).slice(10, 14);
      sb.clock.advance(1_000);
      sb.deleteRecord(d1);
      sb.deleteRecord(d2);
      sb.deleteRecord(gone);
      // Recycle bin emptied for one of them: queryAll cannot see it, the delete log still lists it
      const table = sb.store.table('Contact');
      table.remove(table.byId.get(gone) as never);
      sb.mutate(edited, { Title: 'still here' });
      // getDeleted covers whole minutes that are over
      sb.clock.advance(120_000);
      const pages = await collect(
        connector.read(conn, 'Contact', cursor, { mode: ReadMode.Incremental, pageSize: 2 }),
      );
      expect(pages.flatMap((p) => p.records.map((r) => r.id))).toEqual([edited]);
      const deleted = pages.flatMap((p) => p.deleted);
      expect(new Set(deleted).size).toBe(deleted.length);
      expect(deleted).toEqual(expect.arrayContaining([d1, d2, gone]));
      // Anything else reported is a real deletion from the sandbox's delete log (seeded history)
      expect(deleted.every((id) => table.deletedAt.has(id))).toBe(true);
      expect(pages.flatMap((p) => p.records).every((r) => !('IsDeleted' in r.data))).toBe(true);
    });

    it('readByIds fetches in chunks and skips unknown or malformed ids', async () => {
      const ids = liveIds(sb).slice(0, 250);
      const before = sb.api.limits.used;
      const records = await connector.readByIds(conn, 'Contact', [
        ...ids,
        '003Hs0000ZZZZZZAAA',
        "x' OR Id != '",
      ]);
      expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(sb.api.limits.used - before).toBe(2);
    });

    it('rejects a tampered cursor as permanent', async () => {
      const err = await errorOf(
        collect(
          connector.read(
            conn,
            'Contact',
            JSON.stringify({ t: '2024-01-01T00:00:00Z', id: "x' OR Name != '" }),
            { mode: ReadMode.Incremental },
          ),
        ),
      );
      expect(err.code).toBe(ConnectorErrorCode.Permanent);
    });
  });

  describe('write and delete', () => {
    it('upserts 450 records in chunks of 200 by the Syncline id, created then updated, with one outcome each', async () => {
      const items = Array.from({ length: 450 }, (_, i) => ({
        key: `cust-${i}`,
        record: { FirstName: 'Ada', LastName: `Lovelace ${i}`, Email: `ada.${i}@example.com` },
      }));
      const liveBefore = liveIds(sb).length;
      const before = sb.api.limits.used;
      const acquiredBefore = limiter.acquired;
      const first = await connector.write(conn, 'Contact', items);
      expect(sb.api.limits.used - before).toBe(3);
      expect(limiter.acquired - acquiredBefore).toBe(3);
      expect(first).toHaveLength(450);
      expect(
        first.every(
          (o, i) =>
            o.key === `cust-${i}` && o.status === WriteStatus.Created && /^003/.test(o.externalId ?? ''),
        ),
      ).toBe(true);
      const row = sb.store.findByExternalId('Contact', 'cust-449');
      expect(row?.[0]).toBe(first[449].externalId);

      const second = await connector.write(
        conn,
        'Contact',
        items.map((it) => ({ ...it, record: { ...it.record, Title: 'Countess' } })),
      );
      expect(
        second.every((o, i) => o.status === WriteStatus.Updated && o.externalId === first[i].externalId),
      ).toBe(true);
      expect(liveIds(sb).length).toBe(liveBefore + 450); // no duplicates from the second pass
    });

    it('updates records read from Salesforce by Id and stamps them with the Syncline id', async () => {
      const [id] = liveIds(sb);
      const [outcome] = await connector.write(conn, 'Contact', [
        { key: 'cust-known', externalId: id, record: { Title: 'Engineer' } },
      ]);
      expect(outcome).toEqual({ key: 'cust-known', status: WriteStatus.Updated, externalId: id });
      expect(sb.store.findByExternalId('Contact', 'cust-known')?.[0]).toBe(id);
      sb.deleteRecord(id);
      const [gone] = await connector.write(conn, 'Contact', [
        { key: 'cust-known', externalId: id, record: { Title: 'x' } },
      ]);
      expect(gone).toMatchObject({
        status: WriteStatus.Failed,
        error: { code: ConnectorErrorCode.NotFound, vendorCode: 'ENTITY_IS_DELETED' },
      });
    });

    it('fails only the bad records, as invalid-data with Salesforce error code', async () => {
      const out = await connector.write(conn, 'Lead', [
        { key: 'l-1', record: { LastName: 'Good', Company: 'Acme', Email: 'good@example.com' } },
        { key: 'l-2', record: { LastName: 'Bad', Company: 'Acme', Email: 'not-an-email' } },
        { key: 'l-3', record: { FirstName: 'NoLast', Company: 'Acme' } },
      ]);
      expect(out[0]).toMatchObject({ key: 'l-1', status: WriteStatus.Created });
      expect(out[1]).toMatchObject({
        key: 'l-2',
        status: WriteStatus.Failed,
        error: { code: ConnectorErrorCode.InvalidData, vendorCode: 'INVALID_EMAIL_ADDRESS' },
      });
      expect(out[2]).toMatchObject({
        key: 'l-3',
        status: WriteStatus.Failed,
        error: { code: ConnectorErrorCode.InvalidData, vendorCode: 'REQUIRED_FIELD_MISSING' },
      });
      expect(sb.store.findByExternalId('Lead', 'l-2')).toBeUndefined();
    });

    it('deletes with per-id outcomes; already deleted or unknown ids are not-found', async () => {
      const [a, b, c] = liveIds(sb);
      sb.deleteRecord(c);
      const out = await connector.delete(conn, 'Contact', [a, b, c, '003Hs0000ZZZZZZAAA']);
      expect(out.map((o) => o.status)).toEqual(['deleted', 'deleted', 'not-found', 'not-found']);
      expect(out[2].error?.vendorCode).toBe('ENTITY_IS_DELETED');
      expect(liveIds(sb)).not.toContain(a);
    });

    it('erases for good: deletes, then empties the recycle bin over SOAP; ids already binned or gone are handled', async () => {
      const [a, b, c] = liveIds(sb);
      sb.deleteRecord(c); // already in the recycle bin
      const email = String(sb.store.table('Contact').byId.get(a)![SCHEMA_EMAIL_SLOT()]).toLowerCase();
      const out = await connector.erase!(conn, 'Contact', [a, b, c, '003Hs0000ZZZZZZAAA']);
      expect(out.map((o) => o.status)).toEqual(['deleted', 'deleted', 'deleted', 'not-found']);
      for (const id of [a, b, c]) expect(sb.store.locate(id)).toBeUndefined();
      // Not in the full state either (the recycle bin included), nor in queryAll.
      expect(JSON.stringify(sb.state().records).toLowerCase()).not.toContain(email);
      const all = await collect(
        connector.read(conn, 'Contact', null, { mode: ReadMode.Full, pageSize: 2000 }),
      );
      expect(all.flatMap((p) => p.records.map((r) => r.id))).not.toContain(a);
      // Asking again: nothing is left, so every id is not-found.
      expect((await connector.erase!(conn, 'Contact', [a, b])).map((o) => o.status)).toEqual([
        'not-found',
        'not-found',
      ]);
    });

    it('erase works across a session expiry, and reports an outage as temporary with the record left in place', async () => {
      const [a, b] = liveIds(sb);
      await connector.check(conn);
      sb.deleteRecord(a);
      sb.expireSessions();
      expect((await connector.erase!(conn, 'Contact', [a])).map((o) => o.status)).toEqual(['deleted']);
      sb.faults.configure({ outageUntil: Date.now() + 60_000 });
      const err = await errorOf(connector.erase!(conn, 'Contact', [b]));
      expect(err.code).toBe(ConnectorErrorCode.Temporary);
      sb.faults.configure({ outageUntil: 0 });
      expect(sb.store.locate(b)).toBeDefined();
    });
  });

  describe('vendor failures', () => {
    afterEach(() => sb.faults.reset());

    it('a 403 REQUEST_LIMIT_EXCEEDED is rate-limited with a retry-after, and pauses the limiter', async () => {
      sb.faults.configure({ rate429: 1 });
      const err = await errorOf(connector.check(conn));
      expect(err.code).toBe(ConnectorErrorCode.RateLimited);
      expect(err.details.vendorCode).toBe('REQUEST_LIMIT_EXCEEDED');
      expect(err.retryAfterMs).toBe(30_000);
      expect(limiter.paused).toHaveLength(1);
      expect(sb.faults.injected.rate429).toBe(1); // jsforce did not retry on its own

      sb.faults.reset();
      sb.setDailyApiLimit(10, 10);
      const daily = await errorOf(collect(connector.read(conn, 'Contact', null, { mode: ReadMode.Full })));
      expect(daily.code).toBe(ConnectorErrorCode.RateLimited);
      expect(daily.retryAfterMs).toBeGreaterThanOrEqual(60_000);
      expect(daily.retryAfterMs).toBeLessThanOrEqual(86_400_000);
    });

    it('a 5xx or an outage is temporary, with exactly one attempt', async () => {
      sb.faults.configure({ rate5xx: 1 });
      const err = await errorOf(collect(connector.read(conn, 'Contact', null, { mode: ReadMode.Full })));
      expect(err.code).toBe(ConnectorErrorCode.Temporary);
      expect(err.details.status).toBe(500);
      expect(sb.faults.injected.rate5xx).toBe(1);
      sb.faults.configure({ rate5xx: 0, outageUntil: Date.now() + 60_000 });
      expect((await errorOf(connector.check(conn))).code).toBe(ConnectorErrorCode.Temporary);
      sb.faults.configure({ outageUntil: 0, truncateRate: 1 });
      expect(
        (await errorOf(collect(connector.read(conn, 'Contact', null, { mode: ReadMode.Full })))).code,
      ).toBe(ConnectorErrorCode.Temporary);
    });

    it('a failure after some chunks were written fails only the records not yet sent', async () => {
      const items = Array.from({ length: 250 }, (_, i) => ({ key: `k-${i}`, record: { LastName: `L${i}` } }));
      let calls = 0;
      // Fail the second collection call: the first 200 are written and reported, the last 50 failed temporary
      const original = sb.faults.configure.bind(sb.faults);
      const spy = limiter.acquire.bind(limiter);
      limiter.acquire = async (k, b, s) => {
        if (++calls === 2) original({ rate5xx: 1 });
        return spy(k, b, s);
      };
      try {
        const out = await connector.write(conn, 'Contact', items);
        expect(out.slice(0, 200).every((o) => o.status === WriteStatus.Created)).toBe(true);
        expect(
          out
            .slice(200)
            .every((o) => o.status === WriteStatus.Failed && o.error?.code === ConnectorErrorCode.Temporary),
        ).toBe(true);
      } finally {
        limiter.acquire = spy;
      }
    });

    it('a first-chunk failure throws so the engine retries the batch', async () => {
      sb.faults.configure({ rate5xx: 1 });
      const err = await errorOf(connector.write(conn, 'Contact', [{ key: 'x', record: { LastName: 'X' } }]));
      expect(err.code).toBe(ConnectorErrorCode.Temporary);
    });
  });
});
