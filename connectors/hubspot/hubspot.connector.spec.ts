// The HubSpot connector through @hubspot/api-client against the sandbox over loopback HTTP.
import type { TestingModule } from '@nestjs/testing';
import {
  type Connector,
  ConnectorErrorCode,
  ReadMode,
  type WriteItem,
  WriteStatus,
} from '../../src/connectors';
import { DEFAULT_SEARCH_LAG_MS } from './hubspot.connector';
import { bootHubSpot, collect, connectionFor, connectorError } from './hubspot-spec-helpers';
import { startSandbox, type HubSpotSandbox } from './sandbox';

const FAST = { rateBudget: { requests: 2_000, perMs: 10_000 } };

const liveIds = (sandbox: HubSpotSandbox): string[] =>
  sandbox.store
    .all()
    .filter((r) => !r.archivedAt)
    .map((r) => String(r.id));

const cursorOf = (raw: string | null) => JSON.parse(String(raw)) as { phase: string; t: number; id: string };

describe('HubSpotConnector against the sandbox', () => {
  let moduleRef: TestingModule;
  let connector: Connector;

  beforeAll(async () => {
    ({ moduleRef, connector } = await bootHubSpot());
  });
  afterAll(() => moduleRef.close());

  it('is discovered with the manifest the engine plans with', () => {
    expect(connector.manifest).toMatchObject({
      id: 'hubspot',
      kind: 'crm',
      objects: ['contacts'],
      limits: { maxBatchSize: 100, rateBudget: { requests: 100, perMs: 10_000 } },
    });
    expect([...connector.manifest.capabilities].sort()).toEqual(
      ['batch-write', 'delete', 'full-read', 'incremental-read', 'webhooks'].sort(),
    );
  });

  describe('check and reads', () => {
    let sandbox: HubSpotSandbox;
    beforeEach(async () => {
      sandbox = await startSandbox({ count: 230, seed: 7, rateLimit: { max: 2_000 } });
    });
    afterEach(() => sandbox.close());

    it('check passes with the token and answers auth for a rejected one', async () => {
      await expect(connector.check(connectionFor(sandbox))).resolves.toBeUndefined();
      const err = await connectorError(connector.check(connectionFor(sandbox, { token: 'pat-na1-wrong' })));
      expect(err.code).toBe(ConnectorErrorCode.Auth);
      expect(err.details.status).toBe(401);
    });

    it('a full read returns exactly the seeded records, in pages, with the mapped properties', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const { pages, ids } = await collect(
        connector.read(conn, 'contacts', null, { mode: ReadMode.Full, pageSize: 50 }),
      );
      expect(ids).toHaveLength(230);
      expect(new Set(ids)).toEqual(new Set(liveIds(sandbox)));
      expect(pages.length).toBe(5);
      expect(pages.every((p) => p.records.length <= 50)).toBe(true);
      const first = pages[0].records[0];
      expect(first.data).toMatchObject({ id: first.id, properties: { hs_object_id: first.id } });
      expect(Object.keys(first.data.properties as object)).toEqual(
        expect.arrayContaining([
          'email',
          'firstname',
          'lastname',
          'country',
          'hs_email_optout',
          'lastmodifieddate',
        ]),
      );
      expect(first.modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      // The last page hands over to incremental reads.
      expect(cursorOf(pages[pages.length - 1].cursor).phase).toBe('inc');
    });

    it('resumes a full read from a page cursor without gaps or repeats', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const first = await collect(
        connector.read(conn, 'contacts', null, { mode: ReadMode.Full, pageSize: 50 }),
      );
      const resumed = await collect(
        connector.read(conn, 'contacts', first.pages[1].cursor, { mode: ReadMode.Full, pageSize: 50 }),
      );
      expect(
        [...first.pages[0].records, ...first.pages[1].records].map((r) => r.id).concat(resumed.ids),
      ).toEqual(first.ids);
    });

    it('after a mass update straddling a page boundary, incremental returns exactly the changed records', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const full = await collect(
        connector.read(conn, 'contacts', null, { mode: ReadMode.Full, pageSize: 50 }),
      );
      const cursor = full.pages[full.pages.length - 1].cursor;

      const all = liveIds(sandbox);
      const massIds = all.slice(10, 85); // 75 records, one timestamp: the 50-record page boundary falls inside it
      const singles = [all[3], all[200]];
      sandbox.massUpdate(massIds, { jobtitle: 'Bulk edited' });
      for (const id of singles) sandbox.mutate(id, { city: 'Lisbon' });

      // Read at once, the changes may still be on their way into search: the cursor stays before them.
      const early = await collect(
        connector.read(conn, 'contacts', cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(new Set(early.ids)).toEqual(new Set([...massIds, ...singles]));
      const reread = await collect(
        connector.read(conn, 'contacts', early.pages[early.pages.length - 1].cursor, {
          mode: ReadMode.Incremental,
          pageSize: 50,
        }),
      );
      expect(new Set(reread.ids)).toEqual(new Set([...massIds, ...singles]));

      // Once HubSpot's clock (the Date header: whole seconds) is past the search lag, cursors are exact.
      sandbox.advanceClock(DEFAULT_SEARCH_LAG_MS + 1_000);
      const inc = await collect(
        connector.read(conn, 'contacts', cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(inc.ids).toHaveLength(77);
      expect(new Set(inc.ids)).toEqual(new Set([...massIds, ...singles]));
      expect(inc.pages[0].records).toHaveLength(50);
      // The first page ends inside the shared timestamp; resuming from it must yield the other 25 + 2 exactly.
      const mid = cursorOf(inc.pages[0].cursor);
      expect(mid.t).toBe(Date.parse(String(inc.pages[0].records[49].modifiedAt)));
      const rest = await collect(
        connector.read(conn, 'contacts', inc.pages[0].cursor, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(rest.ids).toEqual(inc.ids.slice(50));

      // Nothing changed since: the next incremental read is empty.
      const last = inc.pages[inc.pages.length - 1].cursor;
      const again = await collect(
        connector.read(conn, 'contacts', last, { mode: ReadMode.Incremental, pageSize: 50 }),
      );
      expect(again.ids).toEqual([]);
      expect(again.deleted).toEqual([]);
    });

    it('reports records archived since the cursor as deleted, once', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const full = await collect(
        connector.read(conn, 'contacts', null, { mode: ReadMode.Full, pageSize: 100 }),
      );
      const [gone1, gone2, kept] = liveIds(sandbox).slice(5, 8);
      sandbox.mutate(gone1, { archived: true });
      sandbox.mutate(gone2, { archived: true });
      sandbox.mutate(kept, { firstname: 'Still here' });
      sandbox.advanceClock(DEFAULT_SEARCH_LAG_MS + 1_000); // the edit has settled in search
      const inc = await collect(
        connector.read(conn, 'contacts', full.pages[full.pages.length - 1].cursor, {
          mode: ReadMode.Incremental,
        }),
      );
      expect(inc.ids).toEqual([kept]);
      expect(inc.deleted.sort()).toEqual([gone1, gone2].sort());
      const next = await collect(
        connector.read(conn, 'contacts', inc.pages[inc.pages.length - 1].cursor, {
          mode: ReadMode.Incremental,
        }),
      );
      expect(next.deleted).toEqual([]);
    });

    it('an incremental read from no cursor returns every record oldest first', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const inc = await collect(
        connector.read(conn, 'contacts', null, { mode: ReadMode.Incremental, pageSize: 100 }),
      );
      expect(new Set(inc.ids)).toEqual(new Set(liveIds(sandbox)));
      expect(inc.ids).toHaveLength(230);
      const stamps = inc.pages.flatMap((p) => p.records.map((r) => Date.parse(String(r.modifiedAt))));
      expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    });

    it('readByIds batches by 100 and leaves out ids HubSpot does not have', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const ids = liveIds(sandbox).slice(0, 150);
      const got = await connector.readByIds(conn, 'contacts', [...ids, '999999']);
      expect(got.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(got[0].data).toHaveProperty('properties.email');
    });
  });

  describe('incremental reads while search trails writes, and changes during a read', () => {
    let sandbox: HubSpotSandbox;
    beforeEach(async () => {
      sandbox = await startSandbox({ count: 230, seed: 11, rateLimit: { max: 2_000 } });
    });
    afterEach(() => sandbox.close());

    const fullCursor = async (conn: ReturnType<typeof connectionFor>) => {
      const full = await collect(
        connector.read(conn, 'contacts', null, { mode: ReadMode.Full, pageSize: 100 }),
      );
      return full.pages[full.pages.length - 1].cursor;
    };

    it('a record written before the cursor but indexed by search after the read is read next time', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const cursor = await fullCursor(conn);
      const [late, early] = liveIds(sandbox).slice(20, 22);
      // `late` is written first but search sees it only later; `early` is written after it and indexed at once.
      sandbox.setIndexLag(60_000);
      sandbox.mutate(late, { city: 'Indexed late' });
      sandbox.setIndexLag(0);
      sandbox.mutate(early, { city: 'Indexed at once' });

      const first = await collect(connector.read(conn, 'contacts', cursor, { mode: ReadMode.Incremental }));
      expect(first.ids).toEqual([early]);

      sandbox.flushSearchIndex(); // a few seconds later, as HubSpot documents
      const second = await collect(
        connector.read(conn, 'contacts', first.pages[first.pages.length - 1].cursor, {
          mode: ReadMode.Incremental,
        }),
      );
      expect(second.ids).toContain(late);
    });

    it('a record edited while a read pages through its window does not push an unread one out of it', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const read = connector.read(conn, 'contacts', null, { mode: ReadMode.Incremental, pageSize: 50 });
      const seen = new Set<string>();
      let pages = 0;
      for await (const page of read) {
        for (const r of page.records) seen.add(r.id);
        // After the first page, a user edits a record that page returned: it moves to the end of the window.
        if (++pages === 1) sandbox.mutate(page.records[0].id, { jobtitle: 'Edited during the read' });
      }
      expect(liveIds(sandbox).filter((id) => !seen.has(id))).toEqual([]);
    });

    it('a record archived during the deletion sweep, on a page the sweep had passed, is reported next time', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const cursor = await fullCursor(conn);
      const ids = liveIds(sandbox);
      // 150 archived records: the archived list takes two pages of 100, in id order.
      for (const id of ids.slice(30, 180)) sandbox.mutate(id, { archived: true });
      const [passed, ahead] = [ids[5], ids[220]];

      const deleted: string[] = [];
      let last: string | null = cursor;
      let edited = false;
      for await (const page of connector.read(conn, 'contacts', cursor, { mode: ReadMode.Incremental })) {
        deleted.push(...page.deleted);
        last = page.cursor;
        if (!edited && page.deleted.length > 0) {
          // The sweep's first page is out: archive one record below it and one above it.
          edited = true;
          sandbox.mutate(passed, { archived: true });
          sandbox.mutate(ahead, { archived: true });
        }
      }
      expect(edited).toBe(true);
      expect(deleted).toContain(ahead);
      const next = await collect(connector.read(conn, 'contacts', last, { mode: ReadMode.Incremental }));
      expect([...deleted, ...next.deleted]).toContain(passed);
    });
  });

  describe('the 10,000-result search cap', () => {
    let sandbox: HubSpotSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ count: 10_450, seed: 3, rateLimit: { max: 5_000 } });
    });
    afterAll(() => sandbox.close());

    it('reads past 10,000 matches by moving the window, even when they all share one timestamp', async () => {
      const conn = connectionFor(sandbox, { settings: { rateBudget: { requests: 5_000, perMs: 10_000 } } });
      const fromStart = await collect(connector.read(conn, 'contacts', null, { mode: ReadMode.Incremental }));
      expect(fromStart.ids).toHaveLength(10_450);
      expect(new Set(fromStart.ids).size).toBe(10_450);

      // 10,300 records with one lastmodifieddate: the restart must continue inside the same timestamp by id.
      const edited = liveIds(sandbox).slice(100, 10_400);
      sandbox.massUpdate(edited, { lifecyclestage: 'customer' });
      const cursor = fromStart.pages[fromStart.pages.length - 1].cursor;
      const inc = await collect(connector.read(conn, 'contacts', cursor, { mode: ReadMode.Incremental }));
      expect(inc.ids).toHaveLength(10_300);
      expect(new Set(inc.ids)).toEqual(new Set(edited));
    });
  });

  describe('writes and deletes', () => {
    let sandbox: HubSpotSandbox;
    beforeEach(async () => {
      sandbox = await startSandbox({ count: 20, seed: 5, rateLimit: { max: 2_000 } });
    });
    afterEach(() => sandbox.close());

    const item = (key: string, properties: Record<string, unknown>, externalId?: string): WriteItem => ({
      key,
      externalId,
      record: { properties },
    });

    it('writes 250 records in chunks of 100 with one outcome each, including a 207 partial failure', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const existing = sandbox.store.all().slice(0, 3);
      const batch: WriteItem[] = [];
      for (let i = 0; i < 245; i++)
        batch.push(
          item(`new-${i}`, { email: `writer-${i}@example.com`, firstname: 'New', lastname: `N${i}` }),
        );
      existing.forEach((r, i) =>
        batch.push(item(`old-${i}`, { email: r.props.email, jobtitle: 'Updated by upsert' })),
      );
      batch.splice(120, 0, item('bad-email', { email: 'not-an-email', firstname: 'Bad' }));
      batch.splice(
        10,
        0,
        item('bad-option', { email: 'bad-option@example.com', lifecyclestage: 'not-a-stage' }),
      );
      expect(batch).toHaveLength(250);

      const out = await connector.write(conn, 'contacts', batch);
      expect(out.map((o) => o.key)).toEqual(batch.map((b) => b.key));
      const by = new Map(out.map((o) => [o.key, o]));
      for (let i = 0; i < 245; i++) {
        const o = by.get(`new-${i}`);
        expect(o?.status).toBe(WriteStatus.Created);
        expect(sandbox.store.get(String(o?.externalId))?.props.email).toBe(`writer-${i}@example.com`);
      }
      existing.forEach((r, i) => {
        expect(by.get(`old-${i}`)).toMatchObject({ status: WriteStatus.Updated, externalId: String(r.id) });
        expect(r.props.jobtitle).toBe('Updated by upsert');
      });
      expect(by.get('bad-email')).toMatchObject({
        status: WriteStatus.Failed,
        error: { code: ConnectorErrorCode.InvalidData, vendorCode: 'INVALID_EMAIL' },
      });
      expect(by.get('bad-option')).toMatchObject({
        status: WriteStatus.Failed,
        error: { code: ConnectorErrorCode.InvalidData, vendorCode: 'INVALID_OPTION' },
      });
      expect(liveIds(sandbox)).toHaveLength(20 + 245);
    });

    it('updates by id when the vendor id is known; unknown ids, missing emails and repeated emails get outcomes', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const [a, b] = sandbox.store.all();
      const out = await connector.write(conn, 'contacts', [
        item('by-id', { firstname: 'Renamed' }, String(a.id)),
        item('by-id-bad', { lifecyclestage: 'nope' }, String(b.id)),
        item('gone', { firstname: 'X' }, '987654'),
        item('no-email', { firstname: 'Nobody' }),
        item('twice-1', { email: 'twice@example.com', firstname: 'One' }),
        item('twice-2', { email: 'TWICE@example.com', firstname: 'Two' }),
      ]);
      const by = new Map(out.map((o) => [o.key, o]));
      expect(by.get('by-id')).toMatchObject({ status: WriteStatus.Updated, externalId: String(a.id) });
      expect(a.props.firstname).toBe('Renamed');
      expect(by.get('by-id-bad')?.error?.code).toBe(ConnectorErrorCode.InvalidData);
      expect(by.get('gone')?.error?.code).toBe(ConnectorErrorCode.NotFound);
      expect(by.get('no-email')?.error?.code).toBe(ConnectorErrorCode.InvalidData);
      expect(by.get('twice-1')?.status).toBe(WriteStatus.Created);
      expect(by.get('twice-2')).toMatchObject({
        status: WriteStatus.Updated,
        externalId: by.get('twice-1')?.externalId,
      });
      expect(sandbox.store.findBy('email', 'twice@example.com')?.props.firstname).toBe('Two');
    });

    it('a chunk refused as a whole (5xx) fails its records as temporary instead of throwing', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      sandbox.faults.configure({ rate5xx: 1 });
      const out = await connector.write(conn, 'contacts', [item('k', { email: 'k@example.com' })]);
      expect(out).toEqual([
        expect.objectContaining({
          key: 'k',
          status: WriteStatus.Failed,
          error: expect.objectContaining({ code: ConnectorErrorCode.Temporary }),
        }),
      ]);
    });

    it('deletes (archives) in batches and tells deleted from not found', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const ids = liveIds(sandbox).slice(0, 3);
      const out = await connector.delete(conn, 'contacts', [...ids, '424242']);
      expect(out).toEqual([
        ...ids.map((externalId) => ({ externalId, status: 'deleted' })),
        { externalId: '424242', status: 'not-found' },
      ]);
      expect(liveIds(sandbox)).toHaveLength(17);
      for (const id of ids) expect(sandbox.store.get(id, true)?.archivedAt).toBeGreaterThan(0);
    });

    it('erases with the GDPR delete: live and archived contacts are gone for good, unknown ids are not-found', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const [a, b] = liveIds(sandbox);
      const emails = [a, b].map((id) => sandbox.store.get(id)!.props.email.toLowerCase());
      await connector.delete(conn, 'contacts', [b]); // archived first: the GDPR delete must reach it too
      const out = await connector.erase!(conn, 'contacts', [a, b, '424242']);
      expect(out).toEqual([
        { externalId: a, status: 'deleted' },
        { externalId: b, status: 'deleted' },
        { externalId: '424242', status: 'not-found' },
      ]);
      for (const id of [a, b]) expect(sandbox.store.get(id, true)).toBeUndefined();
      const state = JSON.stringify(sandbox.state().records).toLowerCase();
      for (const e of emails) expect(state).not.toContain(e);
      expect(liveIds(sandbox)).toHaveLength(18);
    });

    it('erase fails the remaining ids without trying them once HubSpot is down', async () => {
      const conn = connectionFor(sandbox, { settings: FAST });
      const ids = liveIds(sandbox).slice(0, 3);
      sandbox.faults.configure({ outageUntil: Date.now() + 60_000 });
      const out = await connector.erase!(conn, 'contacts', ids);
      sandbox.faults.configure({ outageUntil: 0 });
      expect(out.map((o) => [o.status, o.error?.code])).toEqual(ids.map(() => ['failed', 'temporary']));
      expect(liveIds(sandbox)).toHaveLength(20);
    });
  });

  describe('vendor failures and the rate budget', () => {
    let sandbox: HubSpotSandbox;
    beforeEach(async () => {
      sandbox = await startSandbox({ count: 10, seed: 9 });
    });
    afterEach(() => sandbox.close());

    it('an injected 429 surfaces as rate-limited with Retry-After in ms', async () => {
      sandbox.addToken('pat-429-fault');
      const conn = connectionFor(sandbox, { token: 'pat-429-fault' });
      sandbox.faults.configure({ rate429: 1 });
      const err = await connectorError(connector.check(conn));
      expect(err.code).toBe(ConnectorErrorCode.RateLimited);
      expect(err.retryAfterMs).toBe(1_000);
      expect(err.retryable).toBe(true);
    });

    it("HubSpot's own window 429 (no Retry-After) waits out X-HubSpot-RateLimit-Interval-Milliseconds", async () => {
      sandbox.rateLimiter.configure({ max: 2, intervalMs: 700 });
      sandbox.addToken('pat-429-window');
      // A connection claiming a bigger budget than the portal has, so the vendor is the one to refuse.
      const conn = connectionFor(sandbox, { token: 'pat-429-window', settings: FAST });
      await connector.check(conn);
      await connector.check(conn);
      const err = await connectorError(connector.check(conn));
      expect(err.code).toBe(ConnectorErrorCode.RateLimited);
      expect(err.retryAfterMs).toBe(700);
      expect(err.details.vendorCode).toBe('RATE_LIMITS');
      // The limiter was paused: the next call waits the interval out and then succeeds.
      const started = Date.now();
      await connector.check(conn);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    });

    it('5xx and outages are temporary; an unreachable host is temporary too', async () => {
      const conn = connectionFor(sandbox);
      sandbox.faults.configure({ rate5xx: 1 });
      const e500 = await connectorError(connector.check(conn));
      expect([e500.code, e500.details.status]).toEqual([ConnectorErrorCode.Temporary, 500]);
      sandbox.faults.configure({ rate5xx: 0, outageUntil: Date.now() + 60_000 });
      const e503 = await connectorError(connector.readByIds(conn, 'contacts', ['101']));
      expect([e503.code, e503.details.status]).toEqual([ConnectorErrorCode.Temporary, 503]);

      const closed = await startSandbox({});
      const url = closed.url;
      await closed.close();
      const down = await connectorError(connector.check({ ...connectionFor(sandbox), baseUrl: url }));
      expect(down.code).toBe(ConnectorErrorCode.Temporary);
    });

    it('the limiter keeps a burst under the budget, so the vendor never answers 429', async () => {
      // The portal allows 10 requests per second; the connection is told the same, then 35 calls go at once.
      sandbox.rateLimiter.configure({ max: 10, intervalMs: 1_000 });
      sandbox.addToken('pat-burst');
      const conn = connectionFor(sandbox, {
        token: 'pat-burst',
        settings: { rateBudget: { requests: 10, perMs: 1_000 } },
      });
      const started = Date.now();
      const results = await Promise.allSettled(
        Array.from({ length: 35 }, () => connector.readByIds(conn, 'contacts', ['101'])),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed).toEqual([]);
      // 35 calls at 10 per (1 s + margin) need at least three full windows of waiting.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 1_000);
    }, 30_000);
  });
});
