// Contacts objects, batch and properties endpoints of the HubSpot sandbox, driven only through @hubspot/api-client.
import type { Client } from '@hubspot/api-client';
import type { HubSpotSandbox } from './index';
import { admin, sandboxWithClient, sdkError } from './sandbox-test-helpers';

describe('HubSpot sandbox: contacts, batch, properties', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;

  beforeEach(async () => {
    ({ sandbox, client } = await sandboxWithClient({ count: 250 }));
  });
  afterEach(() => sandbox.close());

  it('lists every seeded contact exactly once by following paging.next.after to the end', async () => {
    const ids: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.crm.contacts.basicApi.getPage(100, after, ['email', 'country']);
      pages++;
      for (const c of page.results) ids.push(c.id);
      after = page.paging?.next?.after;
      expect(page.results.length).toBeLessThanOrEqual(100);
    } while (after);
    expect(pages).toBe(3);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    // The SDK's own pager walks the same cursor.
    const all = await client.crm.contacts.getAll(100);
    expect(all.map((c) => c.id)).toEqual(ids);
  });

  it('refuses a list limit above 100 with a VALIDATION_ERROR body', async () => {
    const err = await sdkError(client.crm.contacts.basicApi.getPage(101));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
    expect(err.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gets one contact with string properties, dates and the always-returned properties', async () => {
    const first = (await client.crm.contacts.basicApi.getPage(1)).results[0];
    const c = await client.crm.contacts.basicApi.getById(first.id, [
      'email',
      'hs_email_optout',
      'phone',
      'nosuchproperty',
    ]);
    expect(c.id).toBe(first.id);
    expect(c.createdAt).toBeInstanceOf(Date);
    expect(c.archived).toBe(false);
    expect(c.properties.hs_object_id).toBe(first.id);
    expect(['true', 'false']).toContain(c.properties.hs_email_optout);
    expect(typeof c.properties.lastmodifieddate).toBe('string');
    expect(Date.parse(c.properties.createdate!)).toBe(c.createdAt.getTime());
    expect('nosuchproperty' in c.properties).toBe(false);
  });

  it('gets a contact by idProperty=email, case-insensitively, and answers 404 OBJECT_NOT_FOUND otherwise', async () => {
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: 'Ada@Example.com', firstname: 'Ada' },
      associations: [],
    });
    expect(created.properties.email).toBe('ada@example.com');
    const byEmail = await client.crm.contacts.basicApi.getById(
      'ADA@example.com',
      ['firstname'],
      undefined,
      undefined,
      false,
      'email',
    );
    expect(byEmail.id).toBe(created.id);
    const err = await sdkError(client.crm.contacts.basicApi.getById('999999999'));
    expect(err.code).toBe(404);
    expect(err.body.category).toBe('OBJECT_NOT_FOUND');
  });

  it('creates one contact (201) and refuses a duplicate email with 409 CONFLICT naming the existing id', async () => {
    const a = await client.crm.contacts.basicApi.create({
      properties: { email: 'dup@example.com' },
      associations: [],
    });
    const err = await sdkError(
      client.crm.contacts.basicApi.create({ properties: { email: ' DUP@example.com ' }, associations: [] }),
    );
    expect(err.code).toBe(409);
    expect(err.body.category).toBe('CONFLICT');
    expect(err.body.message).toContain(`Existing ID: ${a.id}`);
  });

  it('refuses unknown and read-only properties and invalid values with 400 VALIDATION_ERROR', async () => {
    const err = await sdkError(
      client.crm.contacts.basicApi.create({
        properties: { email: 'not-an-email', nosuch: 'x', lastmodifieddate: '1' },
        associations: [],
      }),
    );
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
    const codes = err.body.errors.map((e: { code: string }) => e.code).sort();
    expect(codes).toEqual(['INVALID_EMAIL', 'PROPERTY_DOESNT_EXIST', 'READ_ONLY_VALUE']);
  });

  it('batch create answers 201 when all succeed and 207 with per-input errors when some fail', async () => {
    const ok = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'b1@example.com', firstname: 'B1' }, associations: [] },
        { properties: { email: 'b2@example.com', firstname: 'B2' }, associations: [] },
      ],
    });
    expect(ok.status).toBe('COMPLETE');
    expect(ok.results).toHaveLength(2);
    expect('errors' in ok && ok.errors).toBeFalsy();

    const res = await client.crm.contacts.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { email: 'b3@example.com' }, associations: [] },
        { properties: { email: 'b1@example.com' }, associations: [] },
        { properties: { email: 'bad email' }, associations: [] },
      ],
    });
    expect(res.httpStatusCode).toBe(207);
    const data = res.data as any;
    expect(data.status).toBe('COMPLETE');
    expect(data.results).toHaveLength(1);
    expect(data.numErrors).toBe(2);
    expect(data.errors.map((e: { category: string }) => e.category).sort()).toEqual([
      'CONFLICT',
      'VALIDATION_ERROR',
    ]);
    expect(data.errors.every((e: { status: string }) => e.status === 'error')).toBe(true);
  });

  it('refuses a 101-input batch with 400 VALIDATION_ERROR, as HubSpot does, and accepts 100', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({
      properties: { email: `many${i}@example.com` },
      associations: [],
    }));
    const err = await sdkError(client.crm.contacts.batchApi.create({ inputs }));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
    const hundred = await client.crm.contacts.batchApi.create({ inputs: inputs.slice(0, 100) });
    expect(hundred.results).toHaveLength(100);
    const upsertErr = await sdkError(
      client.crm.contacts.batchApi.upsert({
        inputs: inputs.map((i) => ({ id: i.properties.email, idProperty: 'email', properties: {} })),
      }),
    );
    expect(upsertErr.code).toBe(400);
  });

  it('batch read answers 207 with OBJECT_NOT_FOUND for missing ids and reads by idProperty', async () => {
    const page = await client.crm.contacts.basicApi.getPage(2, undefined, ['email']);
    const res = await client.crm.contacts.batchApi.readWithHttpInfo({
      inputs: [{ id: page.results[0].id }, { id: '424242424' }, { id: page.results[1].id }],
      properties: ['email'],
      propertiesWithHistory: [],
    });
    expect(res.httpStatusCode).toBe(207);
    const data = res.data as any;
    expect(data.results.map((r: { id: string }) => r.id).sort()).toEqual(
      [page.results[0].id, page.results[1].id].sort(),
    );
    expect(data.errors[0].category).toBe('OBJECT_NOT_FOUND');
    expect(data.errors[0].context.ids).toEqual(['424242424']);

    const c = await client.crm.contacts.basicApi.create({
      properties: { email: 'read@example.com' },
      associations: [],
    });
    const byEmail = await client.crm.contacts.batchApi.read({
      inputs: [{ id: 'READ@example.com' }],
      idProperty: 'email',
      properties: [],
      propertiesWithHistory: [],
    });
    expect(byEmail.results[0].id).toBe(c.id);
  });

  it('batch update moves lastmodifieddate, clears with empty strings, and reports missing ids per input (207)', async () => {
    const [a, b] = (await client.crm.contacts.basicApi.getPage(2, undefined, ['firstname', 'city'])).results;
    const res = await client.crm.contacts.batchApi.updateWithHttpInfo({
      inputs: [
        { id: a.id, properties: { firstname: 'Changed', city: '' } },
        { id: '77777777', properties: { firstname: 'Nobody' } },
        { id: b.id, properties: { lifecyclestage: 'notastage' } },
      ],
    });
    expect(res.httpStatusCode).toBe(207);
    const data = res.data as any;
    expect(data.results).toHaveLength(1);
    expect(data.errors.map((e: { category: string }) => e.category).sort()).toEqual([
      'OBJECT_NOT_FOUND',
      'VALIDATION_ERROR',
    ]);
    const after = await client.crm.contacts.basicApi.getById(a.id, ['firstname', 'city']);
    expect(after.properties.firstname).toBe('Changed');
    expect(after.properties.city).toBeNull();
    expect(after.updatedAt.getTime()).toBeGreaterThan(a.updatedAt.getTime());
    expect(Date.parse(after.properties.lastmodifieddate!)).toBe(after.updatedAt.getTime());

    const dupErr = await sdkError(
      client.crm.contacts.batchApi.update({
        inputs: [
          { id: a.id, properties: {} },
          { id: a.id, properties: {} },
        ],
      }),
    );
    expect(dupErr.code).toBe(400);
  });

  it('batch upsert by email creates new contacts and updates existing ones, flagging `new`', async () => {
    const existing = await client.crm.contacts.basicApi.create({
      properties: { email: 'up1@example.com', firstname: 'Old' },
      associations: [],
    });
    const res = await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'UP1@example.com', idProperty: 'email', properties: { firstname: 'New' } },
        { id: 'up2@example.com', idProperty: 'email', properties: { firstname: 'Fresh' } },
      ],
    });
    expect(res.status).toBe('COMPLETE');
    const byEmail = new Map(res.results.map((r) => [r.properties.email, r]));
    expect(byEmail.get('up1@example.com')!.id).toBe(existing.id);
    expect(byEmail.get('up1@example.com')!._new).toBe(false);
    expect(byEmail.get('up2@example.com')!._new).toBe(true);
    const reread = await client.crm.contacts.basicApi.getById(existing.id, ['firstname']);
    expect(reread.properties.firstname).toBe('New');

    const partial = await client.crm.contacts.batchApi.upsertWithHttpInfo({
      inputs: [
        { id: 'up3@example.com', idProperty: 'email', properties: {} },
        { id: 'not an email', idProperty: 'email', properties: {} },
      ],
    });
    expect(partial.httpStatusCode).toBe(207);
    expect((partial.data as any).errors[0].category).toBe('VALIDATION_ERROR');
  });

  it('archives one and a batch (204); archived contacts leave lists and come back with archived=true', async () => {
    const [a, b, c] = (await client.crm.contacts.basicApi.getPage(3)).results;
    await client.crm.contacts.basicApi.archive(a.id);
    await client.crm.contacts.batchApi.archive({ inputs: [{ id: b.id }, { id: c.id }, { id: '123456789' }] });
    const err = await sdkError(client.crm.contacts.basicApi.getById(a.id));
    expect(err.code).toBe(404);
    const archived = await client.crm.contacts.basicApi.getById(b.id, undefined, undefined, undefined, true);
    expect(archived.archived).toBe(true);
    expect(archived.archivedAt).toBeInstanceOf(Date);
    const live = await client.crm.contacts.getAll(100);
    expect(live).toHaveLength(247);
    const gone = await client.crm.contacts.basicApi.getPage(
      100,
      undefined,
      undefined,
      undefined,
      undefined,
      true,
    );
    expect(gone.results.map((r) => r.id).sort()).toEqual([a.id, b.id, c.id].sort());
  });

  it('lists contact properties and creates one, refusing a duplicate with 409', async () => {
    const list = await client.crm.properties.coreApi.getAll('contacts');
    const names = list.results.map((p) => p.name);
    for (const n of [
      'email',
      'firstname',
      'lastname',
      'lifecyclestage',
      'hs_email_optout',
      'lastmodifieddate',
      'hs_object_id',
    ]) {
      expect(names).toContain(n);
    }
    expect(list.results.find((p) => p.name === 'email')!.hasUniqueValue).toBe(true);
    const created = await client.crm.properties.coreApi.create('contacts', {
      name: 'syncline_customer_id',
      label: 'Syncline customer id',
      type: 'string' as any,
      fieldType: 'text' as any,
      groupName: 'contactinformation',
      hasUniqueValue: true,
    });
    expect(created.name).toBe('syncline_customer_id');
    expect(created.createdAt).toBeInstanceOf(Date);
    const err = await sdkError(
      client.crm.properties.coreApi.create('contacts', {
        name: 'syncline_customer_id',
        label: 'x',
        type: 'string' as any,
        fieldType: 'text' as any,
        groupName: 'contactinformation',
      }),
    );
    expect(err.code).toBe(409);
    expect(err.body.category).toBe('OBJECT_ALREADY_EXISTS');
    // A new unique property can be written and then used as idProperty.
    const up = await client.crm.contacts.batchApi.upsert({
      inputs: [{ id: 'cust-1', idProperty: 'syncline_customer_id', properties: { firstname: 'Cu' } }],
    });
    expect(up.results[0].properties.syncline_customer_id).toBe('cust-1');
  });

  it('answers 401 INVALID_AUTHENTICATION for a wrong token', async () => {
    const { Client } = await import('@hubspot/api-client');
    const bad = new Client({ accessToken: 'pat-na1-wrong', basePath: sandbox.credentials.basePath });
    const err = await sdkError(bad.crm.contacts.basicApi.getPage(1));
    expect(err.code).toBe(401);
    expect(err.body.category).toBe('INVALID_AUTHENTICATION');
    expect(err.body.correlationId).toBeTruthy();
  });

  it('seeds deterministically: the same seed gives the same contacts and timestamps', async () => {
    const first = await client.crm.contacts.basicApi.getPage(5, undefined, ['email', 'firstname']);
    await admin(sandbox, 'POST', '/seed', { count: 250, seed: 7 });
    const again = await client.crm.contacts.basicApi.getPage(5, undefined, ['email', 'firstname']);
    expect(again.results.map((r) => [r.id, r.properties, r.updatedAt.toISOString()])).toEqual(
      first.results.map((r) => [r.id, r.properties, r.updatedAt.toISOString()]),
    );
  });
});
