// CRM search in the HubSpot sandbox through @hubspot/api-client: filters and operators, sorts, `after` paging,
// the 200-per-page and 10,000-per-query limits, and shared lastmodifieddate values after a mass update.
import type { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts';
import type { HubSpotSandbox } from './index';
import { admin, sandboxWithClient, sdkError } from './sandbox-test-helpers';

const f = (
  propertyName: string,
  operator: FilterOperatorEnum,
  value?: string,
  extra: { highValue?: string; values?: string[] } = {},
) => ({
  propertyName,
  operator,
  value,
  ...extra,
});

describe('HubSpot sandbox: search', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;

  beforeAll(async () => {
    ({ sandbox, client } = await sandboxWithClient({ count: 600 }));
  });
  afterAll(() => sandbox.close());

  const searchAll = async (filterGroups: any[], sorts: any[] = [], limit = 200) => {
    const out: { id: string; properties: Record<string, string | null> }[] = [];
    let after: string | undefined;
    let total = -1;
    do {
      const page = await client.crm.contacts.searchApi.doSearch({
        filterGroups,
        sorts,
        limit,
        after,
        properties: ['email', 'lastmodifieddate', 'country'],
      });
      total = page.total;
      out.push(...page.results);
      after = page.paging?.next?.after;
    } while (after);
    return { total, results: out };
  };

  it('pages a lastmodifieddate window to the end in ascending order without gaps or repeats', async () => {
    const all = await searchAll(
      [{ filters: [f('lastmodifieddate', FilterOperatorEnum.Gte, '0')] }],
      [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
    );
    expect(all.total).toBe(600);
    expect(all.results).toHaveLength(600);
    expect(new Set(all.results.map((r) => r.id)).size).toBe(600);
    const stamps = all.results.map((r) => Date.parse(r.properties.lastmodifieddate!));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
  });

  it('compares datetimes given as epoch ms or ISO, with GT/LT/BETWEEN', async () => {
    const page = await client.crm.contacts.basicApi.getPage(100, undefined, ['lastmodifieddate']);
    const mid = page.results[50];
    const ms = String(mid.updatedAt.getTime());
    const gt = await searchAll([{ filters: [f('lastmodifieddate', FilterOperatorEnum.Gt, ms)] }]);
    const gtIso = await searchAll([
      { filters: [f('lastmodifieddate', FilterOperatorEnum.Gt, mid.updatedAt.toISOString())] },
    ]);
    const lte = await searchAll([{ filters: [f('lastmodifieddate', FilterOperatorEnum.Lte, ms)] }]);
    expect(gt.total).toBe(gtIso.total);
    expect(gt.total + lte.total).toBe(600);
    expect(gt.results.every((r) => Date.parse(r.properties.lastmodifieddate!) > Number(ms))).toBe(true);
    const lo = page.results[10].updatedAt.getTime();
    const between = await searchAll([
      { filters: [f('lastmodifieddate', FilterOperatorEnum.Between, String(lo), { highValue: ms })] },
    ]);
    expect(between.total).toBe(41);
    const lt = await searchAll([{ filters: [f('lastmodifieddate', FilterOperatorEnum.Lt, ms)] }]);
    expect(lt.total).toBe(50);
  });

  it('filters on hs_object_id and email with EQ, NEQ, IN, HAS_PROPERTY, NOT_HAS_PROPERTY, and ORs filter groups', async () => {
    const [a, b] = (await client.crm.contacts.basicApi.getPage(2, undefined, ['email'])).results;
    const eq = await searchAll([{ filters: [f('hs_object_id', FilterOperatorEnum.Eq, a.id)] }]);
    expect(eq.results.map((r) => r.id)).toEqual([a.id]);
    const inIds = await searchAll([
      { filters: [f('hs_object_id', FilterOperatorEnum.In, undefined, { values: [a.id, b.id] })] },
    ]);
    expect(inIds.results.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    const neq = await searchAll([{ filters: [f('hs_object_id', FilterOperatorEnum.Neq, a.id)] }]);
    expect(neq.total).toBe(599);
    const orGroups = await searchAll([
      { filters: [f('hs_object_id', FilterOperatorEnum.Eq, a.id)] },
      { filters: [f('hs_object_id', FilterOperatorEnum.Eq, b.id)] },
    ]);
    expect(orGroups.total).toBe(2);

    const created = await client.crm.contacts.basicApi.create({
      properties: { email: 'findme@example.com' },
      associations: [],
    });
    const byEmail = await searchAll([{ filters: [f('email', FilterOperatorEnum.Eq, 'FindMe@Example.com')] }]);
    expect(byEmail.results.map((r) => r.id)).toEqual([created.id]);
    const has = await searchAll([{ filters: [f('email', FilterOperatorEnum.HasProperty)] }]);
    const hasNot = await searchAll([{ filters: [f('email', FilterOperatorEnum.NotHasProperty)] }]);
    expect(has.total + hasNot.total).toBe(601);
    expect(hasNot.results.every((r) => r.properties.email === null)).toBe(true);
    await client.crm.contacts.basicApi.archive(created.id);
  });

  it('sorts descending and breaks ties on id', async () => {
    const desc = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [],
      sorts: [{ propertyName: 'hs_object_id', direction: 'DESCENDING' } as any],
      limit: 5,
      properties: [],
    });
    const ids = desc.results.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
  });

  it('refuses limit above 200 and refuses paging past 10,000 results with 400', async () => {
    const tooBig = await sdkError(client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 201 }));
    expect(tooBig.code).toBe(400);
    expect(tooBig.body.category).toBe('VALIDATION_ERROR');
    const ok = await client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 200, after: '9800' });
    expect(ok.results).toHaveLength(0);
    const capped = await sdkError(
      client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 200, after: '9900' }),
    );
    expect(capped.code).toBe(400);
    expect(capped.body.category).toBe('VALIDATION_ERROR');
  });

  it('stops paging at 10,000 results and needs a moved lower bound to go on', async () => {
    const big = await sandboxWithClient({ count: 10_300, rateLimit: { max: 0 } });
    try {
      const sorts = [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }];
      const seen = new Set<string>();
      let after: string | undefined;
      let last = '';
      let total = 0;
      do {
        const page = await big.client.crm.contacts.searchApi.doSearch({
          filterGroups: [],
          sorts: sorts as any,
          limit: 200,
          after,
          properties: ['lastmodifieddate'],
        });
        total = page.total;
        for (const r of page.results) seen.add(r.id);
        last = page.results[page.results.length - 1].properties.lastmodifieddate!;
        after = page.paging?.next?.after;
      } while (after);
      expect(total).toBe(10_300);
      expect(seen.size).toBe(10_000);
      // The documented workaround: a new query whose lower bound is the last timestamp seen.
      const rest = await big.client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [f('lastmodifieddate', FilterOperatorEnum.Gte, last)] }],
        sorts: sorts as any,
        limit: 200,
      });
      expect(rest.total).toBe(301);
    } finally {
      await big.sandbox.close();
    }
  });

  it('gives many records one lastmodifieddate after an admin mass update, and pages them stably', async () => {
    const ids = (await client.crm.contacts.basicApi.getPage(100)).results
      .map((r) => r.id)
      .concat((await client.crm.contacts.basicApi.getPage(100, '350')).results.map((r) => r.id));
    const result = await admin(sandbox, 'POST', '/mass-update', {
      ids,
      fields: { lifecyclestage: 'customer' },
    });
    const stamp = String(Date.parse(result.result.lastmodifieddate));
    const pages: string[] = [];
    let after: string | undefined;
    do {
      const page = await client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [f('lastmodifieddate', FilterOperatorEnum.Eq, stamp)] }],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' } as any],
        limit: 30,
        after,
        properties: ['lifecyclestage'],
      });
      pages.push(...page.results.map((r) => r.id));
      expect(page.results.every((r) => r.properties.lifecyclestage === 'customer')).toBe(true);
      after = page.paging?.next?.after;
    } while (after);
    expect(pages.sort()).toEqual([...ids].sort());
  });

  it('moves lastmodifieddate when an admin edits a record as a HubSpot user would', async () => {
    const c = (await client.crm.contacts.basicApi.getPage(1, '200')).results[0];
    await admin(sandbox, 'POST', `/records/${c.id}/mutate`, { fields: { city: 'Lisbon' } });
    const found = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [f('lastmodifieddate', FilterOperatorEnum.Gt, String(c.updatedAt.getTime()))] },
        { filters: [f('city', FilterOperatorEnum.Eq, 'lisbon')] },
      ],
      properties: ['city'],
      limit: 100,
    });
    expect(found.results.map((r) => r.id)).toContain(c.id);
  });
});

describe('HubSpot sandbox: search indexing lag and the portal clock', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;

  beforeEach(async () => {
    ({ sandbox, client } = await sandboxWithClient({ count: 5 }));
  });
  afterEach(() => sandbox.close());

  const byId = async (id: string) => {
    const res = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [f('hs_object_id', FilterOperatorEnum.Eq, id)] }],
      properties: ['jobtitle', 'lastmodifieddate'],
      limit: 10,
    });
    return res.results[0];
  };

  it('search sees a write only once it is indexed; reads by id see it at once', async () => {
    const [id] = sandbox.store.all().map((r) => String(r.id));
    const before = await byId(id);
    await admin(sandbox, 'PUT', '/search-index', { lagMs: 60_000 });
    await admin(sandbox, 'POST', `/records/${id}/mutate`, { fields: { jobtitle: 'Indexed later' } });
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: 'lagging@example.com' },
      associations: [],
    });

    // Search still answers the version it indexed (and nothing for the new record)...
    const stale = await byId(id);
    expect(stale.properties.lastmodifieddate).toBe(before.properties.lastmodifieddate);
    expect(stale.properties.jobtitle ?? null).toBe(before.properties.jobtitle ?? null);
    expect(await byId(created.id)).toBeUndefined();
    // ...while a read by id is current.
    const direct = await client.crm.contacts.basicApi.getById(id, ['jobtitle']);
    expect(direct.properties.jobtitle).toBe('Indexed later');

    await admin(sandbox, 'POST', '/search-index/flush');
    expect((await byId(id)).properties.jobtitle).toBe('Indexed later');
    expect((await byId(created.id))?.id).toBe(created.id);
  });

  it('a lag ends by the portal clock', async () => {
    const [id] = sandbox.store.all().map((r) => String(r.id));
    sandbox.setIndexLag(5_000);
    sandbox.mutate(id, { jobtitle: 'Soon' });
    expect((await byId(id)).properties.jobtitle ?? null).not.toBe('Soon');
    await admin(sandbox, 'POST', '/clock', { advanceMs: 5_000 });
    expect((await byId(id)).properties.jobtitle).toBe('Soon');
  });

  it('dates its answers by the portal clock, the one lastmodifieddate comes from', async () => {
    const [id] = sandbox.store.all().map((r) => String(r.id));
    const { now } = await admin(sandbox, 'POST', '/clock', { advanceMs: 3_600_000 });
    expect(Date.parse(now) - Date.now()).toBeGreaterThan(3_590_000);
    sandbox.mutate(id, { jobtitle: 'Dated' });
    const res = await fetch(`${sandbox.url}/crm/v3/objects/contacts/${id}?properties=lastmodifieddate`, {
      headers: { authorization: `Bearer ${sandbox.credentials.accessToken}` },
    });
    const modified = Date.parse(((await res.json()) as any).properties.lastmodifieddate);
    const date = Date.parse(String(res.headers.get('date')));
    expect(Math.abs(modified - Date.now() - 3_600_000)).toBeLessThan(10_000);
    // The Date header has whole seconds and is taken as the request arrives, after the write.
    expect(date).toBeGreaterThanOrEqual(Math.floor(modified / 1000) * 1000);
    expect(date - modified).toBeLessThan(10_000);
  });
});
