// The connector through the real @sendgrid/client against the SendGrid sandbox over loopback HTTP.
import { Test, type TestingModule } from '@nestjs/testing';
import {
  ConnectorError,
  ConnectorErrorCode,
  ConnectorRegistry,
  RateLimiter,
  ReadMode,
  WriteStatus,
  type ConnectionContext,
  type Connector,
  type ReadPage,
  type WriteItem,
} from '../../src/connectors';
import { ConnectorsModule } from '../../src/connectors/connectors.module';
import { MappingModule } from '../../src/mapping';
import { conformance } from './conformance';
import { DEFAULT_SEARCH_LAG_MS, RATE_BUDGET } from './sendgrid.connector';
import { startSandbox, type SendGridSandbox } from './sandbox';

async function collect(it: AsyncIterable<ReadPage>): Promise<ReadPage[]> {
  const pages: ReadPage[] = [];
  for await (const p of it) pages.push(p);
  return pages;
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  }
  throw new Error('expected a rejection');
}

describe('SendGridConnector against the sandbox', () => {
  let moduleRef: TestingModule;
  let connector: Connector;
  let sb: SendGridSandbox;
  let n = 0;
  const conn = (
    settings: Record<string, unknown> = {},
    apiKey = sb.credentials.apiKey,
  ): ConnectionContext => ({
    id: `sg-${++n}`, // a fresh id per test: no cached field ids or limiter pauses leak between tests
    connector: 'sendgrid',
    baseUrl: sb.url,
    credentials: { apiKey, webhookPublicKey: sb.credentials.webhookPublicKey },
    settings: { jobPollIntervalMs: 15, ...settings },
  });

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [MappingModule.forRoot(), ConnectorsModule.forRoot({ only: ['sendgrid'] })],
    }).compile();
    await moduleRef.init();
    connector = moduleRef.get(ConnectorRegistry).get('sendgrid');
    sb = await startSandbox({ jobDelayMs: 20 });
  });

  afterAll(async () => {
    await sb.close();
    await moduleRef.close();
  });

  beforeEach(() => {
    sb.faults.reset();
    sb.seed(30, 7);
  });

  it('is registered with its manifest', () => {
    expect(connector.manifest.id).toBe('sendgrid');
    expect(connector.manifest.kind).toBe('esp');
    expect(connector.manifest.objects).toEqual(['contacts']);
  });

  it('check: ok with the sandbox key, auth with a bad one', async () => {
    await expect(connector.check(conn())).resolves.toBeUndefined();
    const e = await rejection(connector.check(conn({}, 'SG.not-a-real-key')));
    expect(e.code).toBe(ConnectorErrorCode.Auth);
    expect(e.details.status).toBe(401);
  });

  it('write: several chunks, created and updated, an invalid email failed invalid-data, ids returned', async () => {
    const existing = [...sb.store.contacts.values()].filter((c) => c.text.email).slice(0, 3);
    const items: WriteItem[] = [
      ...existing.map((c, i) => ({
        key: `old-${i}`,
        record: { email: c.text.email!.toUpperCase(), first_name: `Renamed${i}` },
      })),
      ...Array.from({ length: 8 }, (_, i) => ({
        key: `new-${i}`,
        record: { email: `new-${i}@example.com`, last_name: `New ${i}` },
      })),
      { key: 'bad', record: { email: 'not-an-email@', first_name: 'Broken' } },
    ];
    const puts: number[] = [];
    const original = sb.store.newJob.bind(sb.store);
    sb.store.newJob = (type, requested) => {
      if (type === 'upsert') puts.push(requested);
      return original(type, requested);
    };
    try {
      const out = await connector.write(conn({ maxContactsPerRequest: 4 }), 'contacts', items);
      expect(puts).toEqual([4, 4, 4]); // 12 records, chunk limit 4
      expect(out.map((o) => o.key)).toEqual(items.map((i) => i.key));
      for (let i = 0; i < 3; i++) {
        expect(out[i]).toEqual({ key: `old-${i}`, status: WriteStatus.Updated, externalId: existing[i].id });
        expect(sb.store.contacts.get(existing[i].id)!.text.first_name).toBe(`Renamed${i}`);
      }
      for (let i = 0; i < 8; i++) {
        const o = out[3 + i];
        expect(o.status).toBe(WriteStatus.Created);
        expect(sb.store.contacts.get(o.externalId!)!.text.email).toBe(`new-${i}@example.com`);
      }
      expect(out[11].status).toBe(WriteStatus.Failed);
      expect(out[11].error?.code).toBe(ConnectorErrorCode.InvalidData);
      expect(out[11].error?.message).toMatch(/email/);
      expect(sb.store.contacts.size).toBe(38);
    } finally {
      sb.store.newJob = original;
    }
  });

  it('write: a request-level 400 on one record fails that record and sends the rest', async () => {
    const items: WriteItem[] = [
      { key: 'a', record: { email: 'a@example.com' } },
      { key: 'no-id', record: { first_name: 'Nobody' } }, // no identifier at all: SendGrid rejects the request
      { key: 'b', record: { email: 'b@example.com' } },
    ];
    const out = await connector.write(conn(), 'contacts', items);
    expect(out[0].status).toBe(WriteStatus.Created);
    expect(out[1]).toMatchObject({
      key: 'no-id',
      status: WriteStatus.Failed,
      error: { code: ConnectorErrorCode.InvalidData },
    });
    expect(out[1].error!.message).toMatch(/identifier/);
    expect(out[2].status).toBe(WriteStatus.Created);
  });

  it('write: list ids from settings', async () => {
    const list = { id: '0b3c6a9e-1d2f-4e5a-8b7c-9d0e1f2a3b4c', name: 'Newsletter' };
    sb.store.lists.set(list.id, list);
    const out = await connector.write(conn({ listIds: [list.id] }), 'contacts', [
      { key: 'l', record: { email: 'listed@example.com' } },
    ]);
    expect(sb.store.contacts.get(out[0].externalId!)!.list_ids).toEqual([list.id]);
  });

  it('custom fields: names resolve to ids; unknown names fail invalid-data unless creation is allowed', async () => {
    const stage = sb.store.fieldByName('lifecycle_stage')!;
    const items: WriteItem[] = [
      { key: 'k1', record: { email: 'cf1@example.com', custom_fields: { lifecycle_stage: 'customer' } } },
      { key: 'k2', record: { email: 'cf2@example.com', custom_fields: { company: 'Acme' } } },
    ];
    const off = await connector.write(conn(), 'contacts', items);
    expect(off[0].status).toBe(WriteStatus.Created);
    expect(sb.store.contacts.get(off[0].externalId!)!.custom).toEqual({ [stage.id]: 'customer' });
    expect(off[1]).toMatchObject({
      status: WriteStatus.Failed,
      error: { code: ConnectorErrorCode.InvalidData },
    });
    expect(off[1].error!.message).toContain("'company'");
    expect(sb.store.fieldByName('company')).toBeUndefined();

    const on = await connector.write(conn({ createCustomFields: true }), 'contacts', [
      items[1],
      { key: 'k3', record: { email: 'cf3@example.com', custom_fields: { score: 42 } } },
    ]);
    const company = sb.store.fieldByName('company')!;
    const score = sb.store.fieldByName('score')!;
    expect(company.field_type).toBe('Text');
    expect(score.field_type).toBe('Number');
    expect(on.map((o) => o.status)).toEqual([WriteStatus.Created, WriteStatus.Created]);
    expect(sb.store.contacts.get(on[0].externalId!)!.custom).toEqual({ [company.id]: 'Acme' });
    expect(sb.store.contacts.get(on[1].externalId!)!.custom).toEqual({ [score.id]: 42 });
  });

  it('custom fields: a field deleted after caching fails its records invalid-data, then the cache refreshes', async () => {
    const c = conn({ createCustomFields: true });
    await connector.write(c, 'contacts', [
      { key: 'x', record: { email: 'x@example.com', custom_fields: { lead_source: 'ads' } } },
    ]);
    sb.store.deleteField(sb.store.fieldByName('lead_source')!.id);
    const stale = await connector.write(c, 'contacts', [
      { key: 'y', record: { email: 'y@example.com', custom_fields: { lead_source: 'web' } } },
    ]);
    expect(stale[0]).toMatchObject({
      status: WriteStatus.Failed,
      error: { code: ConnectorErrorCode.InvalidData },
    });
    const again = await connector.write(c, 'contacts', [
      { key: 'y', record: { email: 'y@example.com', custom_fields: { lead_source: 'web' } } },
    ]);
    expect(again[0].status).toBe(WriteStatus.Created);
    expect(sb.store.fieldByName('lead_source')).toBeDefined();
  });

  it('write: known contact ids are kept without a search; a known id gone at SendGrid is looked up again', async () => {
    const [a, b] = [...sb.store.contacts.values()].filter((c) => c.text.email).slice(0, 2);
    const lookups = jest.spyOn(
      connector as unknown as { lookupEmails: (c: unknown, emails: string[]) => Promise<unknown> },
      'lookupEmails',
    );
    try {
      const known = await connector.write(conn(), 'contacts', [
        { key: 'a', externalId: a.id, record: { email: a.text.email, first_name: 'Kept' } },
      ]);
      expect(known).toEqual([{ key: 'a', status: WriteStatus.Updated, externalId: a.id }]);
      expect(sb.store.contacts.get(a.id)!.text.first_name).toBe('Kept');
      // Nothing to look up: the id is known and SendGrid matched the contact (no contact was created).
      expect(lookups.mock.calls.flatMap((c) => c[1])).toEqual([]);

      // Deleted at SendGrid behind our back: the upsert creates a new contact, and its new id comes back.
      const email = b.text.email!;
      sb.store.removeContact(b);
      const gone = await connector.write(conn(), 'contacts', [
        { key: 'b', externalId: b.id, record: { email, first_name: 'Again' } },
      ]);
      expect(gone[0].status).toBe(WriteStatus.Created);
      expect(gone[0].externalId).not.toBe(b.id);
      expect(sb.store.contacts.get(gone[0].externalId!)!.text.email).toBe(email.toLowerCase());
    } finally {
      lookups.mockRestore();
    }
  });

  it("write: an email another contact holds, sent with this contact's external id, fails temporary (retried)", async () => {
    const [a, b] = [...sb.store.contacts.values()].filter((c) => c.text.email).slice(0, 2);
    await connector.write(conn(), 'contacts', [
      { key: 'a', externalId: a.id, record: { email: a.text.email, external_id: 'cust-a' } },
      { key: 'b', externalId: b.id, record: { email: b.text.email, external_id: 'cust-b' } },
    ]);
    // Customer b is given a's email (a merge moved it) while a's record still holds it at SendGrid.
    const [out] = await connector.write(conn(), 'contacts', [
      {
        key: 'b',
        externalId: b.id,
        record: { email: a.text.email, external_id: 'cust-b', first_name: 'Moved' },
      },
    ]);
    expect(out).toMatchObject({ key: 'b', status: WriteStatus.Failed });
    expect(out.error).toMatchObject({
      code: ConnectorErrorCode.Temporary,
      message: expect.stringMatching(/identifiers match more than one existing contact/),
    });
    expect(sb.store.contacts.get(b.id)!.text.first_name).not.toBe('Moved');

    // Once a's record is gone, the same write goes through, to b's contact.
    sb.store.removeContact(a);
    const [again] = await connector.write(conn(), 'contacts', [
      {
        key: 'b',
        externalId: b.id,
        record: { email: a.text.email, external_id: 'cust-b', first_name: 'Moved' },
      },
    ]);
    expect(again).toEqual({ key: 'b', status: WriteStatus.Updated, externalId: b.id });
    expect(sb.store.contacts.get(b.id)!.text).toMatchObject({ email: a.text.email, first_name: 'Moved' });
  });

  it('delete: deleted and not-found per id, after the job', async () => {
    const ids = [...sb.store.contacts.keys()].slice(0, 3);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const out = await connector.delete(conn(), 'contacts', [...ids, unknown]);
    expect(out).toEqual([
      ...ids.map((externalId) => ({ externalId, status: 'deleted' })),
      { externalId: unknown, status: 'not-found' },
    ]);
    for (const id of ids) expect(sb.store.contacts.has(id)).toBe(false);
  });

  it('full read: every seeded contact exactly once across pages, with resumable cursors', async () => {
    sb.seed(120, 3); // more than one 50-contact search
    const pages = await collect(
      connector.read(conn(), 'contacts', null, { mode: ReadMode.Full, pageSize: 7 }),
    );
    const ids = pages.flatMap((p) => p.records.map((r) => r.id));
    expect(ids.length).toBe(120);
    expect(new Set(ids)).toEqual(new Set(sb.store.contacts.keys()));
    expect(pages.every((p) => p.records.length <= 7)).toBe(true);
    // Resuming from the cursor of page 5 yields exactly what followed it.
    const resumed = await collect(
      connector.read(conn(), 'contacts', pages[4].cursor, { mode: ReadMode.Full, pageSize: 7 }),
    );
    expect(resumed.flatMap((p) => p.records.map((r) => r.id))).toEqual(ids.slice(35));
    expect(pages[0].records[0].modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('incremental read: a mass update sharing one timestamp across page boundaries is read exactly once', async () => {
    sb.seed(80, 4);
    const c = conn();
    const full = await collect(connector.read(c, 'contacts', null, { mode: ReadMode.Full, pageSize: 10 }));
    const cursor = full[full.length - 1].cursor;
    const ids = [...sb.store.contacts.keys()].slice(10, 73); // 63 records, one timestamp: > one search, > one page
    sb.massUpdate(ids, { city: 'Same Instant' });
    try {
      // Read at once, the update may still be on its way into search: the cursor stays before it.
      const early = await collect(
        connector.read(c, 'contacts', cursor, { mode: ReadMode.Incremental, pageSize: 10 }),
      );
      expect(new Set(early.flatMap((p) => p.records.map((r) => r.id)))).toEqual(new Set(ids));
      const reread = await collect(
        connector.read(c, 'contacts', early[early.length - 1].cursor, {
          mode: ReadMode.Incremental,
          pageSize: 10,
        }),
      );
      expect(new Set(reread.flatMap((p) => p.records.map((r) => r.id)))).toEqual(new Set(ids));
      // Once SendGrid's clock (the Date header: whole seconds) is past the search lag, cursors are exact.
      sb.advanceClock(DEFAULT_SEARCH_LAG_MS + 1_000);
      const inc = await collect(
        connector.read(c, 'contacts', cursor, { mode: ReadMode.Incremental, pageSize: 10 }),
      );
      const got = inc.flatMap((p) => p.records.map((r) => r.id));
      expect(got.length).toBe(63);
      expect(new Set(got)).toEqual(new Set(ids));
      const none = await collect(
        connector.read(c, 'contacts', inc[inc.length - 1].cursor, {
          mode: ReadMode.Incremental,
          pageSize: 10,
        }),
      );
      expect(none.flatMap((p) => p.records)).toEqual([]);
    } finally {
      sb.reset();
    }
  });

  it('incremental read: a contact written before the cursor but made searchable after the read is read next time', async () => {
    const c = conn();
    const full = await collect(connector.read(c, 'contacts', null, { mode: ReadMode.Full }));
    const cursor = full[full.length - 1].cursor;
    const [late, early] = [...sb.store.contacts.keys()].slice(3, 5);
    try {
      // `late` is written first but search sees it only later; `early` is written after it and indexed at once.
      sb.setIndexLag(60_000);
      sb.mutate(late, { city: 'Indexed late' });
      sb.setIndexLag(0);
      sb.mutate(early, { city: 'Indexed at once' });

      const first = await collect(connector.read(c, 'contacts', cursor, { mode: ReadMode.Incremental }));
      expect(first.flatMap((p) => p.records.map((r) => r.id))).toEqual([early]);

      sb.flushSearchIndex(); // minutes later, as SendGrid documents
      const second = await collect(
        connector.read(c, 'contacts', first[first.length - 1].cursor, { mode: ReadMode.Incremental }),
      );
      expect(second.flatMap((p) => p.records.map((r) => r.id))).toContain(late);
    } finally {
      sb.reset();
    }
  });

  it('reads every contact once whichever 50 matches a search answers (SGQL has no ORDER BY)', async () => {
    sb.seed(130, 5);
    sb.setSearchPicks('newest');
    try {
      const c = conn();
      const pages = await collect(connector.read(c, 'contacts', null, { mode: ReadMode.Full, pageSize: 20 }));
      const ids = pages.flatMap((p) => p.records.map((r) => r.id));
      expect(ids.length).toBe(130);
      expect(new Set(ids)).toEqual(new Set(sb.store.contacts.keys()));
      // A read resumed from any page's cursor yields exactly what followed it.
      const resumed = await collect(
        connector.read(c, 'contacts', pages[2].cursor, { mode: ReadMode.Full, pageSize: 20 }),
      );
      const before = pages.slice(0, 3).reduce((n, p) => n + p.records.length, 0);
      expect(resumed.flatMap((p) => p.records.map((r) => r.id))).toEqual(ids.slice(before));
      // A mass update over more than one search, read incrementally, also arrives whole.
      const edited = [...sb.store.contacts.keys()].slice(0, 75);
      sb.massUpdate(edited, { city: 'Newest first' });
      sb.advanceClock(DEFAULT_SEARCH_LAG_MS + 1_000);
      const inc = await collect(
        connector.read(c, 'contacts', pages[pages.length - 1].cursor, { mode: ReadMode.Incremental }),
      );
      const got = inc.flatMap((p) => p.records.map((r) => r.id));
      expect(got.length).toBe(75);
      expect(new Set(got)).toEqual(new Set(edited));
    } finally {
      sb.reset();
    }
  });

  it('readByIds: by contact id and by email', async () => {
    const [a, b] = [...sb.store.contacts.values()].filter((x) => x.text.email);
    const got = await connector.readByIds(conn(), 'contacts', [
      a.id,
      b.text.email!.toUpperCase(),
      'missing@example.com',
      '00000000-0000-4000-8000-000000000001',
    ]);
    expect(got.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect(got.find((r) => r.id === b.id)!.data.email).toBe(b.text.email);
  });

  it('429 -> rate-limited with retryAfterMs from X-RateLimit-Reset', async () => {
    sb.faults.configure({ rate429: 1 });
    const e = await rejection(connector.check(conn()));
    expect(e.code).toBe(ConnectorErrorCode.RateLimited);
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect(e.retryAfterMs).toBeLessThanOrEqual(2_000);
  });

  it("the sandbox's own budget: 429 surfaces with the window's reset", async () => {
    sb.configureRateLimit({ limit: 1, windowMs: 5_000 });
    try {
      // The bucket may already be spent by earlier tests in this window; the second call is over budget anyway.
      await connector.check(conn()).catch(() => undefined);
      const e = await rejection(connector.check(conn()));
      expect(e.code).toBe(ConnectorErrorCode.RateLimited);
      expect(e.retryAfterMs).toBeGreaterThan(0);
      expect(e.retryAfterMs).toBeLessThanOrEqual(6_000);
    } finally {
      sb.configureRateLimit({ limit: 600, windowMs: 60_000 });
    }
  });

  it('follows an import job with growing waits: a quick job is not held for the whole poll interval', async () => {
    sb.setJobDelay(120);
    try {
      // With a minute between status calls the first answer would come after the job ran; the waits start at
      // 50 ms and double, so the write settles within the test's own time limit.
      const c = conn({ jobPollIntervalMs: 60_000 });
      const [out] = await connector.write(c, 'contacts', [
        { key: 'poll-1', record: { email: 'poll-1@example.com', first_name: 'Poll' } },
      ]);
      expect(out.status).toBe(WriteStatus.Created);
      expect(out.externalId).toBeDefined();
    } finally {
      sb.setJobDelay(20);
    }
  }, 5_000);

  it('paces requests by the budget SendGrid states in X-RateLimit-Limit, the documented 600/min until told', async () => {
    const limiter = moduleRef.get(RateLimiter);
    const acquire = jest.spyOn(limiter, 'acquire');
    const learn = jest.spyOn(limiter, 'learn');
    const c = conn();
    try {
      sb.configureRateLimit({ limit: 5_000, windowMs: 60_000 });
      await connector.check(c);
      await connector.check(c);
      // Asked with the documented default; the limiter keeps what each answer stated (for every worker sharing it).
      expect(acquire.mock.calls.map(([, b]) => b)).toEqual([RATE_BUDGET, RATE_BUDGET]);
      expect(learn.mock.calls.at(-1)).toEqual([`sendgrid:${c.id}`, { requests: 5_000, perMs: 60_000 }]);
      // A smaller budget stated later is followed too.
      sb.configureRateLimit({ limit: 50, windowMs: 60_000 });
      await connector.check(c);
      await connector.check(c);
      expect(learn.mock.calls.at(-1)![1]).toEqual({ requests: 50, perMs: 60_000 });
    } finally {
      acquire.mockRestore();
      learn.mockRestore();
      sb.configureRateLimit({ limit: 600, windowMs: 60_000 });
    }
  });

  it('5xx and outages -> temporary; a write that never reached SendGrid throws', async () => {
    sb.faults.configure({ rate5xx: 1 });
    expect((await rejection(connector.check(conn()))).code).toBe(ConnectorErrorCode.Temporary);
    const e = await rejection(
      connector.write(conn(), 'contacts', [{ key: 'z', record: { email: 'z@example.com' } }]),
    );
    expect(e.code).toBe(ConnectorErrorCode.Temporary);
    sb.faults.reset();
    sb.faults.configure({ outageUntil: Date.now() + 60_000 });
    expect(
      (await rejection(connector.readByIds(conn(), 'contacts', ['00000000-0000-4000-8000-000000000001'])))
        .code,
    ).toBe(ConnectorErrorCode.Temporary);
  });

  it('network failure -> temporary', async () => {
    const dead: ConnectionContext = { ...conn(), baseUrl: 'http://127.0.0.1:1' };
    const e = await rejection(connector.check(dead));
    expect(e.code).toBe(ConnectorErrorCode.Temporary);
  });

  it('an unknown object is refused', async () => {
    expect((await rejection(connector.readByIds(conn(), 'deals', ['x']))).code).toBe(
      ConnectorErrorCode.Permanent,
    );
  });
});

describe('SendGrid conformance profile', () => {
  it('reads exactly the seeded records, writes more than one chunk with an outcome each, and reads edits', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MappingModule.forRoot(), ConnectorsModule.forRoot({ only: ['sendgrid'] })],
    }).compile();
    await moduleRef.init();
    const connector = moduleRef.get(ConnectorRegistry).get('sendgrid');
    const h = await conformance.start({ count: 40, seed: 9 });
    try {
      const pages = await collect(
        connector.read(h.connection, h.object, null, { mode: ReadMode.Full, pageSize: h.pageSize }),
      );
      expect(new Set(pages.flatMap((p) => p.records.map((r) => r.id)))).toEqual(new Set(await h.recordIds()));
      const cursor = pages[pages.length - 1].cursor;
      const items = h.newRecords(60); // chunk limit 25 in the profile: three PUTs
      const out = await connector.write(h.connection, h.object, items);
      expect(out.map((o) => [o.key, o.status])).toEqual(items.map((i) => [i.key, WriteStatus.Created]));
      expect(out.every((o) => typeof o.externalId === 'string')).toBe(true);
      const ids = (await h.recordIds()).slice(0, 12);
      await h.edit(ids, true);
      const inc = await collect(
        connector.read(h.connection, h.object, cursor, { mode: ReadMode.Incremental, pageSize: h.pageSize }),
      );
      const got = new Set(inc.flatMap((p) => p.records.map((r) => r.id)));
      // The 60 written after the cursor plus the 12 seeded ones edited after it.
      expect(got).toEqual(new Set([...out.map((o) => o.externalId!), ...ids]));
      expect((await rejection(connector.check(h.badCredentials))).code).toBe(ConnectorErrorCode.Auth);
    } finally {
      await h.close();
      await moduleRef.close();
    }
  });
});
