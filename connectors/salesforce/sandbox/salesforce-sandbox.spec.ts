// Drives the Salesforce sandbox only through jsforce (and plain HTTP for /__admin), the way the connector will.
import { Connection, OAuth2 } from 'jsforce';
import { startSandbox, type SalesforceSandbox } from './index';

const VERSION = '62.0';

type Rec = Record<string, any>;

async function admin(sb: SalesforceSandbox, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sb.url}/__admin${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function connect(sb: SalesforceSandbox, accessToken = sb.credentials.accessToken): Connection {
  return new Connection({ instanceUrl: sb.credentials.instanceUrl, accessToken, version: VERSION });
}

async function errorOf(
  p: PromiseLike<unknown>,
): Promise<{ errorCode?: string; name?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { errorCode?: string; name?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

async function readAll(conn: Connection, soql: string, scanAll = false): Promise<Rec[]> {
  const result = await conn.query<Rec>(soql, { autoFetch: true, maxFetch: 1_000_000, scanAll });
  expect(result.records).toHaveLength(result.totalSize);
  return result.records;
}

describe('Salesforce sandbox through jsforce', () => {
  let sb: SalesforceSandbox;
  let conn: Connection;

  beforeEach(async () => {
    sb = await startSandbox({ count: 5000, seed: 7, leadCount: 300 });
    conn = connect(sb);
  });
  afterEach(async () => {
    await sb.close();
  });

  describe('OAuth token endpoint', () => {
    it('issues a working token with the client credentials flow', async () => {
      const c = sb.credentials;
      const fresh = new Connection({
        oauth2: { loginUrl: c.instanceUrl, clientId: c.clientId, clientSecret: c.clientSecret },
        version: VERSION,
      });
      const user = await fresh.authorize({ grant_type: 'client_credentials' });
      expect(user.organizationId).toBe(c.organizationId);
      expect(fresh.instanceUrl).toBe(c.instanceUrl);
      expect(fresh.accessToken).not.toBe(c.accessToken);
      const count = await fresh.query('SELECT COUNT() FROM Lead');
      expect(count.totalSize).toBe(sb.store.table('Lead').byId.size - sb.store.table('Lead').deletedAt.size);
    });

    it('answers bad client secrets and refresh tokens as Salesforce does', async () => {
      const c = sb.credentials;
      const wrongSecret = new OAuth2({ loginUrl: c.instanceUrl, clientId: c.clientId, clientSecret: 'nope' });
      const e1 = await errorOf(wrongSecret.requestToken({ grant_type: 'client_credentials' }));
      expect(e1.name).toBe('invalid_client');
      const wrongClient = new OAuth2({
        loginUrl: c.instanceUrl,
        clientId: 'someone-else',
        clientSecret: c.clientSecret,
      });
      expect((await errorOf(wrongClient.requestToken({ grant_type: 'client_credentials' }))).name).toBe(
        'invalid_client_id',
      );
      const good = new OAuth2({
        loginUrl: c.instanceUrl,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
      });
      const e2 = await errorOf(good.refreshToken('not-a-refresh-token'));
      expect(e2.name).toBe('invalid_grant');
      expect(e2.message).toBe('expired access/refresh token');
    });

    it('lets jsforce refresh an expired session with the refresh token and retry', async () => {
      const c = sb.credentials;
      const refreshing = new Connection({
        oauth2: { loginUrl: c.instanceUrl, clientId: c.clientId, clientSecret: c.clientSecret },
        instanceUrl: c.instanceUrl,
        accessToken: c.accessToken,
        refreshToken: c.refreshToken,
        version: VERSION,
      });
      let refreshed = '';
      refreshing.on('refresh', (token: string) => (refreshed = token));
      await admin(sb, 'POST', '/sessions/expire');
      const result = await refreshing.query('SELECT Id FROM Contact LIMIT 3');
      expect(result.records).toHaveLength(3);
      expect(refreshed).toBe(refreshing.accessToken);
      expect(refreshed).not.toBe(c.accessToken);
    });
  });

  describe('query and queryAll', () => {
    it('pages 2,000 at a time with nextRecordsUrl until done', async () => {
      const live = [...sb.store.table('Contact').byId.values()].filter((r) => r[1] === false).length;
      const first = await conn.request<Rec>(
        `/services/data/v${VERSION}/query?q=${encodeURIComponent('SELECT Id FROM Contact')}`,
      );
      expect(first.totalSize).toBe(live);
      expect(first.done).toBe(false);
      expect(first.records).toHaveLength(2000);
      expect(first.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-2000$/);

      const records = await readAll(
        conn,
        'SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id',
      );
      expect(records).toHaveLength(live);
      expect(new Set(records.map((r) => r.Id)).size).toBe(live);
      for (let i = 1; i < records.length; i++) {
        const a = records[i - 1];
        const b = records[i];
        expect(
          a.SystemModstamp < b.SystemModstamp || (a.SystemModstamp === b.SystemModstamp && a.Id < b.Id),
        ).toBe(true);
      }
      expect(records[0].Id).toMatch(/^003[A-Za-z0-9]{15}$/);
      expect(records[0].SystemModstamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$/);
      expect(records[0].attributes.type).toBe('Contact');
    });

    it('honours Sforce-Query-Options batchSize and rejects an unknown locator', async () => {
      const page = await conn.request<Rec>({
        method: 'GET',
        url: `/services/data/v${VERSION}/query?q=${encodeURIComponent('SELECT Id FROM Lead')}`,
        headers: { 'Sforce-Query-Options': 'batchSize=200' },
      });
      expect(page.records).toHaveLength(200);
      const err = await errorOf(conn.queryMore('01gHs0000000zzzAAA-2000'));
      expect(err.errorCode).toBe('INVALID_QUERY_LOCATOR');
    });

    it('keeps deleted records out of query and returns them with IsDeleted from queryAll', async () => {
      const [victim] = (await conn.query<Rec>('SELECT Id FROM Contact ORDER BY SystemModstamp DESC LIMIT 1'))
        .records;
      const del = await conn.sobject('Contact').destroy(victim.Id);
      expect(del).toMatchObject({ id: victim.Id, success: true });
      const soql = `SELECT Id, IsDeleted FROM Contact WHERE Id = '${victim.Id}'`;
      expect((await conn.query(soql)).totalSize).toBe(0);
      const all = await readAll(conn, soql, true);
      expect(all).toEqual([expect.objectContaining({ Id: victim.Id, IsDeleted: true })]);
      const deletedCount = await conn.query('SELECT COUNT() FROM Contact WHERE IsDeleted = true', {
        scanAll: true,
      });
      expect(deletedCount.totalSize).toBe(sb.store.table('Contact').deletedAt.size);
    });

    it('walks a mass update with the compound (SystemModstamp, Id) cursor without skipping or repeating', async () => {
      const ids = (await readAll(conn, 'SELECT Id FROM Contact ORDER BY Id LIMIT 2500')).map(
        (r) => r.Id as string,
      );
      sb.clock.advance(60_000);
      const result = await admin(sb, 'POST', '/mass-update', { ids, fields: { Title: 'Mass updated' } });
      expect(result.result.updated).toBe(2500);
      const since = sb.clock.now() - 30_000;
      const sinceLiteral = new Date(since).toISOString().replace('Z', '+0000');
      const seen: string[] = [];
      let cursor: { t: string; id: string } | undefined;
      for (let guard = 0; guard < 20; guard++) {
        const where = cursor
          ? `SystemModstamp > ${cursor.t} OR (SystemModstamp = ${cursor.t} AND Id > '${cursor.id}')`
          : `SystemModstamp > ${sinceLiteral}`;
        const page = await conn.query<Rec>(
          `SELECT Id, Title, SystemModstamp FROM Contact WHERE ${where} ORDER BY SystemModstamp, Id LIMIT 700`,
        );
        if (page.records.length === 0) break;
        seen.push(...page.records.map((r) => r.Id as string));
        const last = page.records[page.records.length - 1];
        cursor = { t: last.SystemModstamp, id: last.Id };
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual([...ids].sort());
      const stamps = await conn.query<Rec>(
        `SELECT SystemModstamp FROM Contact WHERE Id IN ('${ids[0]}', '${ids[2499]}')`,
      );
      expect(stamps.records[0].SystemModstamp).toBe(stamps.records[1].SystemModstamp);
      expect(stamps.records[0].SystemModstamp).toBe(result.result.systemModstamp);
    });

    it('parses datetime literal forms, AND/OR with parentheses, ORDER BY several fields and LIMIT', async () => {
      const all = await readAll(conn, 'SELECT Id, LastModifiedDate, SystemModstamp, LastName FROM Contact');
      const pivot = all[Math.floor(all.length / 2)].SystemModstamp as string;
      const iso = pivot.replace('+0000', 'Z');
      const plusColon = pivot.replace('+0000', '+00:00');
      const a = await conn.query(`SELECT COUNT() FROM Contact WHERE SystemModstamp >= ${pivot}`);
      const b = await conn.query(`SELECT COUNT() FROM Contact WHERE SystemModstamp >= ${iso}`);
      const c = await conn.query(`SELECT COUNT() FROM Contact WHERE SystemModstamp >= ${plusColon}`);
      const expected = all.filter((r) => r.SystemModstamp >= pivot).length;
      expect([a.totalSize, b.totalSize, c.totalSize]).toEqual([expected, expected, expected]);

      const mixed = await readAll(
        conn,
        `SELECT Id, LastName FROM Contact WHERE (LastModifiedDate < ${pivot} AND IsDeleted = false) OR Id = '${all[0].Id}' ORDER BY LastName DESC, Id ASC LIMIT 50`,
      );
      expect(mixed).toHaveLength(50);
      const names = mixed.map((r) => (r.LastName as string).toLowerCase());
      expect([...names].sort().reverse()).toEqual(names);
    });

    it('reports MALFORMED_QUERY, INVALID_FIELD and INVALID_TYPE with status 400', async () => {
      expect((await errorOf(conn.query('SELECT Id Contact'))).errorCode).toBe('MALFORMED_QUERY');
      expect((await errorOf(conn.query('SELECT Id FROM Contact WHERE (Id = null'))).errorCode).toBe(
        'MALFORMED_QUERY',
      );
      const unknown = await errorOf(conn.query('SELECT Id, Shoe_Size__c FROM Contact'));
      expect(unknown.errorCode).toBe('INVALID_FIELD');
      expect(unknown.message).toContain("No such column 'Shoe_Size__c' on entity 'Contact'");
      const quoted = await errorOf(
        conn.query("SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'"),
      );
      expect(quoted.errorCode).toBe('INVALID_FIELD');
      expect((await errorOf(conn.query('SELECT Id FROM Opportunity'))).errorCode).toBe('INVALID_TYPE');
      const raw = await fetch(`${sb.url}/services/data/v${VERSION}/query?q=SELECT+FROM`, {
        headers: { authorization: `Bearer ${sb.credentials.accessToken}` },
      });
      expect(raw.status).toBe(400);
      expect(await raw.json()).toEqual([{ message: expect.any(String), errorCode: 'MALFORMED_QUERY' }]);
    });
  });

  describe('metadata and replication', () => {
    it('describes Contact with types, external id and updateable flags', async () => {
      const d = await conn.sobject('Contact').describe();
      expect(d.keyPrefix).toBe('003');
      const byName = new Map(d.fields.map((f) => [f.name, f]));
      expect(byName.get('Syncline_Id__c')).toMatchObject({
        externalId: true,
        unique: true,
        custom: true,
        updateable: true,
        type: 'string',
      });
      expect(byName.get('Email')).toMatchObject({ type: 'email', updateable: true });
      expect(byName.get('SystemModstamp')).toMatchObject({
        type: 'datetime',
        updateable: false,
        createable: false,
      });
      expect(byName.get('LastName')).toMatchObject({ nillable: false, length: 80 });
      const lead = await conn.sobject('Lead').describe();
      expect(lead.fields.map((f) => f.name)).toEqual(
        expect.arrayContaining(['Company', 'City', 'Country', 'Status']),
      );
    });

    it('lists updated and deleted ids within their 30- and 15-day windows', async () => {
      const start = new Date(sb.clock.now() - 60 * 60_000);
      const created = (await conn
        .sobject('Contact')
        .create({ LastName: 'Window', Email: 'window@example.com' })) as Rec;
      const victim = (await conn.sobject('Contact').create({ LastName: 'Doomed' })) as Rec;
      await conn.sobject('Contact').destroy(victim.id);
      // Changes in the current minute are not covered yet (latestDateCovered stops before it)
      sb.clock.advance(2 * 60_000);
      const end = new Date(sb.clock.now() + 60 * 60_000);
      const updated = await conn.sobject('Contact').updated(start, end);
      expect(updated.ids).toContain(created.id);
      expect(updated.ids).not.toContain(victim.id);
      const deleted = await conn.sobject('Contact').deleted(start, end);
      expect(deleted.deletedRecords).toEqual([
        { id: victim.id, deletedDate: expect.stringMatching(/\+0000$/) },
      ]);

      const tooOld = await errorOf(
        conn.sobject('Contact').updated(new Date(sb.clock.now() - 31 * 86_400_000), end),
      );
      expect(tooOld.errorCode).toBe('INVALID_REPLICATION_DATE');
      const backwards = await errorOf(conn.sobject('Contact').deleted(end, start));
      expect(backwards.errorCode).toBe('INVALID_REPLICATION_DATE');

      // Sixteen days later the delete is past the recycle bin: neither getDeleted nor queryAll reach it
      await admin(sb, 'POST', '/clock', { advanceMs: 16 * 86_400_000 });
      const stale = await errorOf(conn.sobject('Contact').deleted(start, new Date(sb.clock.now())));
      expect(stale.errorCode).toBe('INVALID_REPLICATION_DATE');
      expect(
        (await conn.query(`SELECT Id FROM Contact WHERE Id = '${victim.id}'`, { scanAll: true })).totalSize,
      ).toBe(0);
    });
  });

  describe('writes', () => {
    it('creates, reads, updates and deletes a single record', async () => {
      const before = (await conn.query<Rec>('SELECT Id FROM Contact ORDER BY SystemModstamp DESC LIMIT 1'))
        .records[0];
      const created = (await conn
        .sobject('Contact')
        .create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' })) as Rec;
      expect(created).toMatchObject({ success: true, errors: [] });
      expect(created.id).toMatch(/^003[A-Za-z0-9]{15}$/);
      const got = (await conn.sobject('Contact').retrieve(created.id)) as Rec;
      expect(got).toMatchObject({
        Id: created.id,
        FirstName: 'Ada',
        LastName: 'Lovelace',
        Name: 'Ada Lovelace',
        IsDeleted: false,
        HasOptedOutOfEmail: false,
      });
      sb.clock.advance(5000);
      const upd = await conn.sobject('Contact').update({ Id: created.id, Title: 'Countess' });
      expect(upd).toMatchObject({ id: created.id, success: true });
      const after = (await conn.sobject('Contact').retrieve(created.id)) as Rec;
      expect(after.Title).toBe('Countess');
      expect(after.SystemModstamp > got.SystemModstamp).toBe(true);
      expect(after.LastModifiedDate).toBe(after.SystemModstamp);
      expect(before.Id).not.toBe(created.id);

      const bad = await errorOf(conn.sobject('Contact').update({ Id: created.id, Email: 'not an email' }));
      expect(bad.errorCode).toBe('INVALID_EMAIL_ADDRESS');
      const readOnly = await errorOf(
        conn.sobject('Contact').update({ Id: created.id, SystemModstamp: '2020-01-01T00:00:00.000+0000' }),
      );
      expect(readOnly.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');

      await conn.sobject('Contact').destroy(created.id);
      expect((await errorOf(conn.sobject('Contact').retrieve(created.id))).errorCode).toBe(
        'ENTITY_IS_DELETED',
      );
      expect((await errorOf(conn.sobject('Contact').retrieve('003Hs0000ZZZZZZAAA'))).errorCode).toBe(
        'NOT_FOUND',
      );
    });

    it('upserts one record by external id: 201 created, then 200 updated', async () => {
      const first = (await conn
        .sobject('Contact')
        .upsert({ Syncline_Id__c: 'syn-1', LastName: 'One' }, 'Syncline_Id__c')) as Rec;
      expect(first).toMatchObject({ success: true, created: true });
      const second = (await conn
        .sobject('Contact')
        .upsert({ Syncline_Id__c: 'syn-1', LastName: 'Uno' }, 'Syncline_Id__c')) as Rec;
      expect(second).toMatchObject({ id: first.id, success: true, created: false });
      const got = (await conn.sobject('Contact').retrieve(first.id)) as Rec;
      expect(got).toMatchObject({ LastName: 'Uno', Syncline_Id__c: 'syn-1' });
      const wrongField = await errorOf(
        conn.sobject('Contact').upsert({ Email: 'x@example.com', LastName: 'X' }, 'Email'),
      );
      expect(wrongField.errorCode).toBe('NOT_FOUND');
    });

    it('upserts a collection by external id with per-record created flags and errors', async () => {
      const records = Array.from({ length: 150 }, (_, i) => ({
        Syncline_Id__c: `bulk-${i}`,
        LastName: `Bulk ${i}`,
        Email: `bulk${i}@example.com`,
      }));
      const first = (await conn.sobject('Contact').upsert(records, 'Syncline_Id__c')) as Rec[];
      expect(first).toHaveLength(150);
      expect(first.every((r) => r.success && r.created === true && r.errors.length === 0)).toBe(true);
      const again = (await conn.sobject('Contact').upsert(
        [
          { Syncline_Id__c: 'bulk-0', LastName: 'Changed' },
          { Syncline_Id__c: 'bulk-new', LastName: 'New' },
          { Syncline_Id__c: 'bulk-1', Email: 'broken' },
        ],
        'Syncline_Id__c',
      )) as Rec[];
      expect(again[0]).toMatchObject({ id: first[0].id, success: true, created: false });
      expect(again[1]).toMatchObject({ success: true, created: true });
      expect(again[2]).toMatchObject({
        success: false,
        errors: [{ statusCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'], message: expect.any(String) }],
      });
      const check = await conn.query<Rec>("SELECT LastName FROM Contact WHERE Syncline_Id__c = 'bulk-0'");
      expect(check.records[0].LastName).toBe('Changed');
    });

    it('refuses a 201-record collection with EXCEEDED_ID_LIMIT', async () => {
      const records = Array.from({ length: 201 }, (_, i) => ({ LastName: `Over ${i}` }));
      const err = await errorOf(conn.sobject('Contact').create(records));
      expect(err.errorCode).toBe('EXCEEDED_ID_LIMIT');
      const upsertErr = await errorOf(
        conn.sobject('Contact').upsert(
          records.map((r, i) => ({ ...r, Syncline_Id__c: `o${i}` })),
          'Syncline_Id__c',
        ),
      );
      expect(upsertErr.errorCode).toBe('EXCEEDED_ID_LIMIT');
      expect((await conn.query("SELECT COUNT() FROM Contact WHERE LastName = 'Over 0'")).totalSize).toBe(0);
    });

    it('rolls back the whole collection with allOrNone and keeps the good records without it', async () => {
      const batch = [
        { LastName: 'Kept', Email: 'kept@example.com' },
        { FirstName: 'No last name' },
        { LastName: 'Also kept', Email: 'also@example.com' },
      ];
      const atomic = (await conn.sobject('Contact').create(batch, { allOrNone: true })) as Rec[];
      expect(atomic.map((r) => r.success)).toEqual([false, false, false]);
      expect(atomic[0].errors[0].statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
      expect(atomic[1].errors[0]).toMatchObject({
        statusCode: 'REQUIRED_FIELD_MISSING',
        fields: ['LastName'],
      });
      expect(
        (
          await conn.query(
            "SELECT COUNT() FROM Contact WHERE Email IN ('kept@example.com', 'also@example.com')",
          )
        ).totalSize,
      ).toBe(0);

      const partial = (await conn.sobject('Contact').create(batch)) as Rec[];
      expect(partial.map((r) => r.success)).toEqual([true, false, true]);
      expect(
        (
          await conn.query(
            "SELECT COUNT() FROM Contact WHERE Email IN ('kept@example.com', 'also@example.com')",
          )
        ).totalSize,
      ).toBe(2);

      // An update rolled back restores the old values too
      const ids = partial.filter((r) => r.success).map((r) => r.id as string);
      const upd = (await conn.sobject('Contact').update(
        [
          { Id: ids[0], Title: 'Should not stick' },
          { Id: ids[1], LastName: null },
        ],
        { allOrNone: true },
      )) as Rec[];
      expect(upd.map((r) => r.success)).toEqual([false, false]);
      const kept = (await conn.sobject('Contact').retrieve(ids[0])) as Rec;
      expect(kept.Title).toBeNull();
    });
  });

  describe('limits, auth errors and faults', () => {
    it('answers a bad bearer token with 401 INVALID_SESSION_ID', async () => {
      const err = await errorOf(connect(sb, '00D000000000000!bogus').query('SELECT Id FROM Contact'));
      expect(err.errorCode).toBe('INVALID_SESSION_ID');
    });

    it('reports api usage in Sforce-Limit-Info and refuses calls past the daily budget with 403', async () => {
      await conn.query('SELECT Id FROM Contact LIMIT 1');
      const usage1 = conn.limitInfo.apiUsage?.used ?? 0;
      await conn.sobject('Contact').describe();
      expect(conn.limitInfo.apiUsage).toEqual({ used: usage1 + 1, limit: 100_000 });
      await admin(sb, 'PUT', '/api-limit', { limit: 50, used: 50 });
      const err = await errorOf(conn.query('SELECT Id FROM Contact LIMIT 1'));
      expect(err.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
      const raw = await fetch(`${sb.url}/services/data/v${VERSION}/limits`, {
        headers: { authorization: `Bearer ${sb.credentials.accessToken}` },
      });
      expect(raw.status).toBe(403);
      expect(raw.headers.get('sforce-limit-info')).toBe('api-usage=52/50');
    });

    it('injects faults with Salesforce answers: 403 limits, 500, 503 outage, corrupted bodies', async () => {
      await admin(sb, 'PUT', '/faults', { rate429: 1 });
      expect((await errorOf(conn.query('SELECT Id FROM Contact LIMIT 1'))).errorCode).toBe(
        'REQUEST_LIMIT_EXCEEDED',
      );
      const auth = { headers: { authorization: `Bearer ${sb.credentials.accessToken}` } };
      const url = `${sb.url}/services/data/v${VERSION}/query?q=SELECT+Id+FROM+Contact+LIMIT+5`;
      await admin(sb, 'PUT', '/faults', { rate429: 0, rate5xx: 1 });
      const r500 = await fetch(url, auth);
      expect(r500.status).toBe(500);
      expect(await r500.json()).toEqual([{ message: expect.any(String), errorCode: 'UNKNOWN_EXCEPTION' }]);
      // jsforce retries 5xx on its own (500 ms, then doubling): it succeeds once the fault clears
      const retried = conn.query('SELECT Id FROM Contact LIMIT 1');
      setTimeout(() => void sb.faults.configure({ rate5xx: 0 }), 200);
      expect((await retried).records).toHaveLength(1);
      expect(sb.faults.injected.rate5xx).toBeGreaterThanOrEqual(2);

      await admin(sb, 'PUT', '/faults', { outageUntil: Date.now() + 60_000 });
      const r503 = await fetch(url, auth);
      expect(r503.status).toBe(503);
      expect(await r503.json()).toEqual([{ message: expect.any(String), errorCode: 'SERVER_UNAVAILABLE' }]);
      // The admin surface stays reachable during an outage
      expect((await admin(sb, 'GET', '/state')).summary.Contact.total).toBeGreaterThan(0);
      await admin(sb, 'PUT', '/faults', { outageUntil: 0, truncateRate: 1 });
      const raw = await fetch(url, auth);
      expect(raw.status).toBe(200);
      const text = await raw.text();
      expect(() => JSON.parse(text)).toThrow();
      await admin(sb, 'PUT', '/faults', { truncateRate: 0 });
      expect((await conn.query('SELECT Id FROM Contact LIMIT 1')).records).toHaveLength(1);
    });

    it('dates its answers by its own clock, the one SystemModstamp comes from', async () => {
      sb.clock.freeze(Date.parse('2031-03-04T05:06:07.890Z'));
      const [rec] = (await conn.query<Rec>('SELECT Id FROM Contact LIMIT 1')).records;
      await admin(sb, 'POST', `/records/${rec.Id}/mutate`, { fields: { Title: 'Dated' } });
      const raw = await fetch(
        `${sb.url}/services/data/v${VERSION}/query?q=${encodeURIComponent(`SELECT SystemModstamp FROM Contact WHERE Id = '${rec.Id}'`)}`,
        { headers: { authorization: `Bearer ${sb.credentials.accessToken}` } },
      );
      expect(raw.headers.get('date')).toBe('Tue, 04 Mar 2031 05:06:07 GMT');
      expect(((await raw.json()) as Rec).records[0].SystemModstamp).toBe('2031-03-04T05:06:07.000+0000');
    });

    it('edits records through the admin surface as a user would, bumping both timestamps', async () => {
      const [rec] = (
        await conn.query<Rec>('SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp LIMIT 1')
      ).records;
      const out = await admin(sb, 'POST', `/records/${rec.Id}/mutate`, {
        fields: { Phone: '+44 20 7946 0000' },
      });
      expect(out.record.Phone).toBe('+44 20 7946 0000');
      const after = (await conn.sobject('Contact').retrieve(rec.Id)) as Rec;
      expect(after.SystemModstamp > rec.SystemModstamp).toBe(true);
      const missing = await fetch(`${sb.url}/__admin/records/003Hs0000ZZZZZZAAA/mutate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fields: { Phone: '1' } }),
      });
      expect(missing.status).toBe(404);
    });
  });
});
