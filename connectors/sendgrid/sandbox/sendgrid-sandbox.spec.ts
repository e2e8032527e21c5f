// The SendGrid Marketing sandbox driven only through the unmodified @sendgrid/client over loopback HTTP (plain
// HTTP for /__admin and the errors_url download); every answer is validated against SendGrid's OpenAPI.
import type { Client } from '@sendgrid/client';
import { MAX_CONTACTS_PER_UPSERT, startSandbox, type SendGridSandbox } from './index';
import { SendGridSpecValidator, SPEC_ERRATA } from './sendgrid-openapi.validator';
import { admin, call, sdkClient, specCaller, waitFor, type SgAnswer } from './sendgrid-test.helpers';

const validator = new SendGridSpecValidator();
let sb: SendGridSandbox;
let client: Client;
const sg = specCaller(validator, () => client);

beforeAll(async () => {
  sb = await startSandbox({ count: 200, seed: 7, jobDelayMs: 60 });
  client = sdkClient(sb.credentials.apiKey, sb.credentials.baseUrl);
});
afterAll(async () => sb.close());
afterEach(async () => {
  await admin(sb.url, 'PUT', '/faults', {
    rate429: 0,
    rate5xx: 0,
    outageUntil: 0,
    truncateRate: 0,
    malformedRate: 0,
    latencyMs: 0,
  });
  sb.configureRateLimit({ limit: 600, windowMs: 60_000 });
});

async function jobDone(jobId: string): Promise<SgAnswer> {
  return waitFor(
    () => sg('GET', '/v3/marketing/contacts/imports/{id}', { params: { id: jobId } }),
    (r) => r.status === 200 && r.body.status !== 'pending',
  );
}

async function createField(name: string, field_type: string): Promise<string> {
  const r = await sg('POST', '/v3/marketing/field_definitions', { body: { name, field_type } });
  expect(r.status).toBe(200);
  return r.body.id;
}

describe('spec errata', () => {
  it('still exist in the published spec (drop the patch when SendGrid fixes it)', () => {
    for (const e of SPEC_ERRATA)
      expect(SendGridSpecValidator.rawAt(e.file, e.pointer)).toMatchObject(e.expected);
  });
});

describe('auth', () => {
  it('answers 401 with SendGrid errors when the key is missing or wrong', async () => {
    const noKey = sdkClient('SG.x', sb.url);
    noKey.setDefaultHeader('Authorization', '');
    const wrong = sdkClient('SG.not-the-key', sb.url);
    for (const c of [wrong]) {
      const r = await call(c, { method: 'GET', url: '/v3/marketing/contacts/count' });
      expect(r.status).toBe(401);
      validator.assertResponse('GET', '/v3/marketing/contacts/count', 401, r.body);
      expect(r.body.errors[0].message).toMatch(/invalid|expired|revoked/);
    }
    const res = await fetch(`${sb.url}/v3/marketing/contacts/count`);
    const body = await res.json();
    expect(res.status).toBe(401);
    validator.assertResponse('GET', '/v3/marketing/contacts/count', 401, body);
    expect(body).toEqual({ errors: [{ field: null, message: 'authorization required' }] });
  });
});

describe('field definitions', () => {
  it('lists reserved and custom fields, creates, renames and deletes custom ones', async () => {
    const all = await sg('GET', '/v3/marketing/field_definitions');
    expect(all.status).toBe(200);
    expect(all.body.reserved_fields.map((f: any) => f.name)).toEqual(
      expect.arrayContaining(['email', 'first_name', 'created_at']),
    );
    expect(all.body.custom_fields.map((f: any) => f.name)).toEqual([
      'lead_source',
      'lifecycle_stage',
      'total_spent',
      'order_count',
    ]);

    const id = await createField('favourite_colour', 'Text');
    expect(id).toMatch(/^e\d+_T$/);
    expect(await createField('loyalty_points', 'Number')).toMatch(/_N$/);

    const dup = await sg('POST', '/v3/marketing/field_definitions', {
      body: { name: 'FAVOURITE_colour', field_type: 'Text' },
    });
    expect(dup.status).toBe(400);
    const reserved = await sg('POST', '/v3/marketing/field_definitions', {
      body: { name: 'email', field_type: 'Text' },
    });
    expect(reserved.status).toBe(400);
    const badType = await sg('POST', '/v3/marketing/field_definitions', {
      body: { name: 'x1', field_type: 'Blob' },
    });
    expect(badType.status).toBe(400);

    const renamed = await sg('PATCH', '/v3/marketing/field_definitions/{custom_field_id}', {
      params: { custom_field_id: id },
      body: { name: 'fav_colour' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: 'fav_colour', field_type: 'Text' });
    const missing = await sg('PATCH', '/v3/marketing/field_definitions/{custom_field_id}', {
      params: { custom_field_id: 'e999_T' },
      body: { name: 'y' },
    });
    expect(missing.status).toBe(404);

    const del = await sg('DELETE', '/v3/marketing/field_definitions/{custom_field_id}', {
      params: { custom_field_id: id },
    });
    expect(del.status).toBe(204);
    const again = await sg('DELETE', '/v3/marketing/field_definitions/{custom_field_id}', {
      params: { custom_field_id: id },
    });
    expect(again.status).toBe(404);
  });
});

describe('lists', () => {
  it('creates, reads, pages, counts and deletes lists', async () => {
    const created = await sg('POST', '/v3/marketing/lists', { body: { name: 'vip' } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({ name: 'vip', contact_count: 0 });
    expect((await sg('POST', '/v3/marketing/lists', { body: { name: '' } })).status).toBe(400);
    await sg('POST', '/v3/marketing/lists', { body: { name: 'second' } });

    const page1 = await sg('GET', '/v3/marketing/lists', { qs: { page_size: 1 } });
    expect(page1.status).toBe(200);
    expect(page1.body.result).toHaveLength(1);
    expect(page1.body._metadata.next).toBeDefined();
    const token = new URL(page1.body._metadata.next).searchParams.get('page_token');
    const page2 = await sg('GET', '/v3/marketing/lists', { qs: { page_size: 1, page_token: token } });
    expect(page2.body.result[0].id).not.toBe(page1.body.result[0].id);

    expect((await sg('GET', '/v3/marketing/lists/{id}', { params: { id } })).body.name).toBe('vip');
    const nf = await sg('GET', '/v3/marketing/lists/{id}', {
      params: { id: '00000000-0000-4000-8000-000000000000' },
    });
    expect(nf.status).toBe(404);
    const renamed = await sg('PATCH', '/v3/marketing/lists/{id}', {
      params: { id },
      body: { name: 'vip-2' },
    });
    expect(renamed.body.name).toBe('vip-2');

    const put = await sg('PUT', '/v3/marketing/contacts', {
      body: { list_ids: [id], contacts: [{ email: 'list.member@example.com' }] },
    });
    await jobDone(put.body.job_id);
    const count = await sg('GET', '/v3/marketing/lists/{id}/contacts/count', { params: { id } });
    expect(count.body.contact_count).toBe(1);
    const withSample = await sg('GET', '/v3/marketing/lists/{id}', {
      params: { id },
      qs: { contact_sample: true },
    });
    expect(withSample.body.contact_sample.email).toBe('list.member@example.com');

    const memberId = withSample.body.contact_sample.id;
    const removal = await sg('DELETE', '/v3/marketing/lists/{id}/contacts', {
      params: { id },
      qs: { contact_ids: memberId },
    });
    expect(removal.status).toBe(202);
    await jobDone(removal.body.job_id);
    expect(
      (await sg('GET', '/v3/marketing/lists/{id}/contacts/count', { params: { id } })).body.contact_count,
    ).toBe(0);

    expect((await sg('DELETE', '/v3/marketing/lists/{id}', { params: { id } })).status).toBe(204);
    expect((await sg('DELETE', '/v3/marketing/lists/{id}', { params: { id } })).status).toBe(404);
  });
});

describe('PUT /v3/marketing/contacts and the import job', () => {
  it('queues an upsert (pending), then completes with counts; contacts become readable', async () => {
    const points = await createField('points', 'Number');
    sb.setJobDelay(400);
    const put = await sg('PUT', '/v3/marketing/contacts', {
      body: {
        contacts: [
          {
            email: 'Ada.Lovelace@Example.com',
            first_name: 'Ada',
            last_name: 'Lovelace',
            address_line_1: '12 St James Sq',
            city: 'London',
            country: 'GB',
            postal_code: 'SW1Y',
            phone_number: '+44 20 7946 0000',
            custom_fields: { [points]: 42 },
          },
          { external_id: 'crm-123', first_name: 'NoEmail' },
          { phone_number_id: '+14155550123', anonymous_id: 'anon-9' },
        ],
      },
    });
    expect(put.status).toBe(202);
    expect(typeof put.body.job_id).toBe('string');
    const pending = await sg('GET', '/v3/marketing/contacts/imports/{id}', {
      params: { id: put.body.job_id },
    });
    expect(pending.body).toMatchObject({ id: put.body.job_id, status: 'pending', job_type: 'upsert' });
    sb.setJobDelay(60);

    const done = await jobDone(put.body.job_id);
    expect(done.body.status).toBe('completed');
    expect(done.body.results).toMatchObject({
      requested_count: 3,
      created_count: 3,
      updated_count: 0,
      errored_count: 0,
    });
    expect(done.body.results.errors_url).toBeUndefined();

    const found = await sg('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: ['ADA.lovelace@example.com'] },
    });
    expect(found.status).toBe(200);
    const ada = found.body.result['ada.lovelace@example.com'].contact;
    expect(ada).toMatchObject({
      email: 'ada.lovelace@example.com',
      first_name: 'Ada',
      city: 'London',
      custom_fields: { points: 42 },
    });

    const byId = await sg('GET', '/v3/marketing/contacts/{id}', { params: { id: ada.id } });
    expect(byId.body.id).toBe(ada.id);
    expect(Date.parse(byId.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(byId.body.created_at));

    // Same email in another case updates the existing contact.
    const upd = await sg('PUT', '/v3/marketing/contacts', {
      body: { contacts: [{ email: 'ADA.LOVELACE@example.com', last_name: 'King' }] },
    });
    const updDone = await jobDone(upd.body.job_id);
    expect(updDone.body.results).toMatchObject({ created_count: 0, updated_count: 1 });
    const after = await sg('GET', '/v3/marketing/contacts/{id}', { params: { id: ada.id } });
    expect(after.body).toMatchObject({ first_name: 'Ada', last_name: 'King' });
    expect(Date.parse(after.body.updated_at)).toBeGreaterThan(Date.parse(ada.updated_at));
  });

  it('reports per-record errors (errored / failed) with a downloadable errors file', async () => {
    const before = (await sg('GET', '/v3/marketing/contacts/count')).body.contact_count;
    const put = await sg('PUT', '/v3/marketing/contacts', {
      body: {
        contacts: [
          { email: 'good.one@example.com' },
          { email: 'not-an-email' },
          { email: 'x@example.com', custom_fields: { e404_T: 'a' } },
        ],
      },
    });
    const done = await jobDone(put.body.job_id);
    expect(done.body.status).toBe('errored');
    expect(done.body.results).toMatchObject({ requested_count: 3, created_count: 1, errored_count: 2 });
    const csv = await (await fetch(done.body.results.errors_url)).text();
    expect(csv.split('\n')[0]).toBe('index,email,phone_number_id,external_id,anonymous_id,error');
    expect(csv).toContain('"not-an-email"');
    expect(csv).toContain('custom field ID not found');
    expect((await sg('GET', '/v3/marketing/contacts/count')).body.contact_count).toBe(before + 1);

    const allBad = await sg('PUT', '/v3/marketing/contacts', {
      body: { contacts: [{ email: 'bad@' }, { phone_number_id: '12' }] },
    });
    expect((await jobDone(allBad.body.job_id)).body.status).toBe('failed');
  });

  it('refuses 30,001 contacts, a body over 6 MB, and contacts without an identifier', async () => {
    const tooMany = await sg('PUT', '/v3/marketing/contacts', {
      body: {
        contacts: Array.from({ length: MAX_CONTACTS_PER_UPSERT + 1 }, (_, i) => ({
          email: `u${i}@example.com`,
        })),
      },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0]).toMatchObject({ field: 'contacts' });

    const filler = 'x'.repeat(100);
    const big = Array.from({ length: 25_000 }, (_, i) => ({
      email: `big${i}@example.com`,
      address_line_1: filler,
      address_line_2: filler,
      city: filler.slice(0, 60),
    }));
    expect(Buffer.byteLength(JSON.stringify({ contacts: big }))).toBeGreaterThan(6 * 1024 * 1024);
    const tooBig = await sg('PUT', '/v3/marketing/contacts', { body: { contacts: big } });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.errors[0].message).toMatch(/6MB/);

    const noId = await sg('PUT', '/v3/marketing/contacts', {
      body: { contacts: [{ first_name: 'Nobody' }] },
    });
    expect(noId.status).toBe(400);
    expect(noId.body.errors[0].field).toBe('contacts[0]');
    const empty = await sg('PUT', '/v3/marketing/contacts', { body: { contacts: [] } });
    expect(empty.status).toBe(400);
    const badList = await sg('PUT', '/v3/marketing/contacts', {
      body: { list_ids: ['nope'], contacts: [{ email: 'a@example.com' }] },
    });
    expect(badList.status).toBe(400);
  });
});

describe('reads', () => {
  it('counts, samples, batch-reads and reads by id (404 when unknown)', async () => {
    const count = await sg('GET', '/v3/marketing/contacts/count');
    expect(count.status).toBe(200);
    expect(count.body.contact_count).toBeGreaterThanOrEqual(200);
    const sample = await sg('GET', '/v3/marketing/contacts');
    expect(sample.body.result.length).toBeLessThanOrEqual(50);
    expect(sample.body.contact_count).toBe(count.body.contact_count);
    const ids = sample.body.result.slice(0, 3).map((c: any) => c.id);
    const batch = await sg('POST', '/v3/marketing/contacts/batch', { body: { ids: [...ids, 'missing-id'] } });
    expect(batch.body.result.map((c: any) => c.id).sort()).toEqual([...ids].sort());
    expect((await sg('POST', '/v3/marketing/contacts/batch', { body: { ids: ['missing-id'] } })).status).toBe(
      404,
    );
    expect((await sg('GET', '/v3/marketing/contacts/{id}', { params: { id: 'missing-id' } })).status).toBe(
      404,
    );
  });

  it('search/emails: partial hits carry an error entry; no hit is 404; an invalid address is 400', async () => {
    const known = (await sg('GET', '/v3/marketing/contacts')).body.result.find((c: any) => c.email).email;
    const partial = await sg('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: [known, 'nobody.here@example.com'] },
    });
    expect(partial.status).toBe(200);
    expect(partial.body.result['nobody.here@example.com']).toEqual({ error: 'contact not found' });
    const none = await sg('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: ['nobody.here@example.com'] },
    });
    expect(none.status).toBe(404);
    expect(
      (await sg('POST', '/v3/marketing/contacts/search/emails', { body: { emails: ['bad@'] } })).status,
    ).toBe(400);
  });
});

describe('SGQL search', () => {
  let listId: string;
  beforeAll(async () => {
    listId = (await sg('POST', '/v3/marketing/lists', { body: { name: 'sgql' } })).body.id;
    const put = await sg('PUT', '/v3/marketing/contacts', {
      body: {
        list_ids: [listId],
        contacts: [
          { email: 'q.alpha@sgql.test', first_name: 'Quinn', country: 'FR' },
          { email: 'q.beta@sgql.test', first_name: 'Quentin', country: 'DE' },
          { email: 'r.gamma@sgql.test', first_name: 'Rhea', country: 'FR' },
        ],
      },
    });
    await jobDone(put.body.job_id);
  });
  const search = (query: string): Promise<SgAnswer> =>
    sg('POST', '/v3/marketing/contacts/search', { body: { query } });
  const emails = (r: SgAnswer): string[] => r.body.result.map((c: any) => c.email).sort();

  it.each([
    ["email = 'q.alpha@sgql.test'", ['q.alpha@sgql.test']],
    ["email LIKE 'q.%@sgql.test'", ['q.alpha@sgql.test', 'q.beta@sgql.test']],
    ["email LIKE '%@sgql.test' AND country != 'FR'", ['q.beta@sgql.test']],
    [
      "email LIKE '%@sgql.test' AND first_name IN ('Rhea', 'Quinn')",
      ['q.alpha@sgql.test', 'r.gamma@sgql.test'],
    ],
    [
      "(first_name = 'Rhea' OR first_name = 'Quentin') AND email LIKE '%sgql.test'",
      ['q.beta@sgql.test', 'r.gamma@sgql.test'],
    ],
    ["email LIKE '%@sgql.test' AND NOT (country = 'FR')", ['q.beta@sgql.test']],
  ])('%s', async (query, expected) => {
    const r = await search(query);
    expect(r.status).toBe(200);
    expect(emails(r)).toEqual(expected);
    expect(r.body.contact_count).toBe(expected.length);
  });

  it('CONTAINS on list_ids, timestamps, custom fields by name, the 50-result cap', async () => {
    expect(emails(await search(`CONTAINS(list_ids, '${listId}')`))).toHaveLength(3);
    const recent = await search(
      `updated_at > TIMESTAMP '${new Date(Date.now() - 60_000).toISOString()}' AND CONTAINS(list_ids, '${listId}')`,
    );
    expect(recent.body.contact_count).toBe(3);
    const future = await search(`created_at > TIMESTAMP '2999-01-01T00:00:00Z'`);
    expect(future.body).toMatchObject({ result: [], contact_count: 0 });
    const seeded = await search(`total_spent >= 0 OR total_spent < 0`);
    expect(seeded.body.contact_count).toBeGreaterThan(0);
    const all = await search(`created_at > TIMESTAMP '2000-01-01T00:00:00Z'`);
    expect(all.body.result).toHaveLength(50);
    expect(all.body.contact_count).toBeGreaterThan(50);
  });

  it('answers 400 for an invalid query or unknown field', async () => {
    expect((await search("email = 'unterminated")).status).toBe(400);
    expect((await search("no_such_field = 'x'")).status).toBe(400);
    expect((await sg('POST', '/v3/marketing/contacts/search', { body: {} })).status).toBe(400);
  });
});

describe('DELETE /v3/marketing/contacts', () => {
  it('deletes by ids as a job, refuses no selector, and deletes all', async () => {
    const put = await sg('PUT', '/v3/marketing/contacts', {
      body: { contacts: [{ email: 'del.one@example.com' }, { email: 'del.two@example.com' }] },
    });
    await jobDone(put.body.job_id);
    const found = await sg('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: ['del.one@example.com', 'del.two@example.com'] },
    });
    const ids = Object.values(found.body.result).map((r: any) => r.contact.id);
    const del = await sg('DELETE', '/v3/marketing/contacts', { qs: { ids: ids.join(',') } });
    expect(del.status).toBe(202);
    const done = await jobDone(del.body.job_id);
    expect(done.body).toMatchObject({ job_type: 'delete', status: 'completed' });
    expect(done.body.results.deleted_count).toBe(2);
    expect((await sg('GET', '/v3/marketing/contacts/{id}', { params: { id: ids[0] } })).status).toBe(404);

    expect((await sg('DELETE', '/v3/marketing/contacts')).status).toBe(400);
    expect(
      (await sg('DELETE', '/v3/marketing/contacts', { qs: { delete_all_contacts: 'yes' } })).status,
    ).toBe(400);
  });

  it('delete_all_contacts empties the store', async () => {
    const other = await startSandbox({ count: 30, seed: 3, jobDelayMs: 20 });
    try {
      const c = sdkClient(other.credentials.apiKey, other.url);
      const r = await call(c, {
        method: 'DELETE',
        url: '/v3/marketing/contacts',
        qs: { delete_all_contacts: 'true' },
      });
      expect(r.status).toBe(202);
      validator.assertResponse('DELETE', '/v3/marketing/contacts', 202, r.body);
      const job = await waitFor(
        () => call(c, { method: 'GET', url: `/v3/marketing/contacts/imports/${r.body.job_id}` }),
        (x) => x.body.status !== 'pending',
      );
      validator.assertResponse('GET', '/v3/marketing/contacts/imports/{id}', 200, job.body);
      expect(job.body.results.deleted_count).toBe(30);
      const count = await call(c, { method: 'GET', url: '/v3/marketing/contacts/count' });
      expect(count.body.contact_count).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('rate limits', () => {
  it('sends X-RateLimit-* on every answer and 429 with the documented body past the budget', async () => {
    const r1 = await sg('GET', '/v3/marketing/contacts/count');
    expect(r1.headers['x-ratelimit-limit']).toBe('600');
    expect(Number(r1.headers['x-ratelimit-remaining'])).toBeLessThan(600);
    expect(Number(r1.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));

    expect((await admin(sb.url, 'PUT', '/sendgrid/rate-limit', { limit: 2, windowMs: 60_000 })).status).toBe(
      200,
    );
    const url = '/v3/marketing/lists';
    await sg('GET', url);
    const last = await sg('GET', url);
    const limited = await sg('GET', url);
    expect(last.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [{ field: null, message: 'too many requests' }] });
    expect(limited.headers).toMatchObject({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0' });
    // Budgets are per endpoint: another endpoint still answers.
    expect((await sg('GET', '/v3/marketing/field_definitions')).status).toBe(200);
  });

  it('opens a new window after windowMs', async () => {
    sb.configureRateLimit({ limit: 1, windowMs: 300 });
    await sg('GET', '/v3/marketing/contacts');
    expect((await sg('GET', '/v3/marketing/contacts')).status).toBe(429);
    await new Promise((r) => setTimeout(r, 350));
    expect((await sg('GET', '/v3/marketing/contacts')).status).toBe(200);
  });
});

describe('fault injection', () => {
  it('429 and 5xx with SendGrid bodies and headers; outage 503; corrupted JSON bodies', async () => {
    await admin(sb.url, 'PUT', '/faults', { rate429: 1 });
    const r429 = await sg('GET', '/v3/marketing/contacts/count');
    expect(r429.status).toBe(429);
    expect(r429.headers['x-ratelimit-remaining']).toBe('0');
    expect(r429.headers['x-ratelimit-reset']).toBeDefined();

    await admin(sb.url, 'PUT', '/faults', { rate429: 0, rate5xx: 1 });
    const r500 = await sg('GET', '/v3/marketing/contacts/count');
    expect(r500.status).toBe(500);
    expect(r500.body.errors[0].message).toBe('internal server error');

    await admin(sb.url, 'PUT', '/faults', { rate5xx: 0, outageUntil: Date.now() + 60_000 });
    const r503 = await sg('GET', '/v3/marketing/contacts/count');
    expect(r503.status).toBe(503);
    expect(r503.headers['retry-after']).toBe('1');

    await admin(sb.url, 'PUT', '/faults', { outageUntil: 0, malformedRate: 1 });
    // axios hands back the unparseable text as is; a connector must treat it as a transient failure.
    const bad = await call(client, { method: 'GET', url: '/v3/marketing/contacts/count' });
    expect(bad.status).toBe(200);
    expect(typeof bad.body).toBe('string');
    expect(() => JSON.parse(bad.body)).toThrow();

    await admin(sb.url, 'PUT', '/faults', { malformedRate: 0, truncateRate: 1 });
    const cut = await call(client, { method: 'GET', url: '/v3/marketing/field_definitions' });
    expect(() => JSON.parse(cut.body)).toThrow();

    await admin(sb.url, 'PUT', '/faults', { truncateRate: 0, latencyMs: 150 });
    const t0 = Date.now();
    expect((await sg('GET', '/v3/marketing/contacts/count')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    // The admin surface is never behind the faults.
    await admin(sb.url, 'PUT', '/faults', { rate5xx: 1, latencyMs: 0 });
    expect((await admin(sb.url, 'GET', '/state')).status).toBe(200);
  });
});

describe('seeding and admin', () => {
  it('is deterministic per seed and lets a vendor-user edit bump updated_at', async () => {
    const a = await startSandbox({ count: 25, seed: 11 });
    const b = await startSandbox({ count: 25, seed: 11 });
    try {
      const sa = (await admin(a.url, 'GET', '/state')).body;
      const sbb = (await admin(b.url, 'GET', '/state')).body;
      expect(sa.summary.contacts).toBe(25);
      expect(sa.records.map((r: any) => [r.id, r.email, r.external_id, r.created_at])).toEqual(
        sbb.records.map((r: any) => [r.id, r.email, r.external_id, r.created_at]),
      );
      const id = sa.records[0].id;
      expect(
        (
          await admin(a.url, 'POST', `/records/${id}/mutate`, {
            fields: { first_name: 'Edited', lead_source: 'webinar' },
          })
        ).status,
      ).toBe(200);
      const ca = sdkClient(a.credentials.apiKey, a.url);
      const got = await call(ca, { method: 'GET', url: `/v3/marketing/contacts/${id}` });
      validator.assertResponse('GET', '/v3/marketing/contacts/{id}', 200, got.body);
      expect(got.body.first_name).toBe('Edited');
      expect(got.body.custom_fields.lead_source).toBe('webinar');
      expect(Date.parse(got.body.updated_at)).toBeGreaterThan(Date.parse(sa.records[0].updated_at));

      expect((await admin(a.url, 'POST', '/mass-update', { fields: { country: 'NL' } })).status).toBe(200);
      const after = (await admin(a.url, 'GET', '/state')).body.records;
      expect(new Set(after.map((r: any) => r.updated_at)).size).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("search indexing lag, SendGrid's clock and which matches search answers", () => {
  let lag: SendGridSandbox;
  let lc: Client;
  beforeEach(async () => {
    lag = await startSandbox({ count: 120, seed: 5, jobDelayMs: 10 });
    lc = sdkClient(lag.credentials.apiKey, lag.url);
  });
  afterEach(async () => lag.close());

  const search = async (query: string): Promise<SgAnswer> => {
    const r = await call(lc, { method: 'POST', url: '/v3/marketing/contacts/search', body: { query } });
    validator.assertResponse('POST', '/v3/marketing/contacts/search', r.status, r.body);
    return r;
  };
  const byId = async (id: string): Promise<any> => (await search(`contact_id = '${id}'`)).body.result[0];
  const byEmail = async (email: string): Promise<any> => (await search(`email = '${email}'`)).body.result[0];

  it('search sees a write only once it is indexed; reads by id see it at once', async () => {
    const [id] = [...lag.store.contacts.keys()];
    const before = await byId(id);
    expect((await admin(lag.url, 'PUT', '/sendgrid/search-index', { lagMs: 60_000 })).body).toMatchObject({
      lagMs: 60_000,
      pending: false,
    });
    await admin(lag.url, 'POST', `/records/${id}/mutate`, { fields: { first_name: 'Indexed later' } });
    const put = await call(lc, {
      method: 'PUT',
      url: '/v3/marketing/contacts',
      body: { contacts: [{ email: 'lagging@sgql.test' }] },
    });
    await waitFor(
      () => call(lc, { method: 'GET', url: `/v3/marketing/contacts/imports/${put.body.job_id}` }),
      (r) => r.body.status === 'completed',
    );

    // Search still answers the version it indexed (and nothing for the new contact)...
    const stale = await byId(id);
    expect([stale.first_name, stale.updated_at]).toEqual([before.first_name, before.updated_at]);
    expect(await byEmail('lagging@sgql.test')).toBeUndefined();
    // ...while reads by id and by email are current.
    const direct = await call(lc, { method: 'GET', url: `/v3/marketing/contacts/${id}` });
    expect(direct.body.first_name).toBe('Indexed later');
    const emails = await call(lc, {
      method: 'POST',
      url: '/v3/marketing/contacts/search/emails',
      body: { emails: ['lagging@sgql.test'] },
    });
    expect(emails.body.result['lagging@sgql.test'].contact.email).toBe('lagging@sgql.test');

    expect((await admin(lag.url, 'PUT', '/sendgrid/search-index', {})).body.pending).toBe(true);
    expect((await admin(lag.url, 'POST', '/sendgrid/search-index/flush')).status).toBe(200);
    expect((await byId(id)).first_name).toBe('Indexed later');
    expect((await byEmail('lagging@sgql.test'))?.email).toBe('lagging@sgql.test');
  });

  it("a lag ends by SendGrid's clock, and answers are dated by it, the clock updated_at comes from", async () => {
    const [id] = [...lag.store.contacts.keys()];
    lag.setIndexLag(5_000);
    lag.mutate(id, { first_name: 'Soon' });
    expect((await byId(id)).first_name).not.toBe('Soon');
    const { now } = (await admin(lag.url, 'POST', '/sendgrid/clock', { advanceMs: 3_600_000 })).body;
    expect(Date.parse(now) - Date.now()).toBeGreaterThan(3_590_000);
    expect((await byId(id)).first_name).toBe('Soon');

    lag.mutate(id, { first_name: 'Dated' });
    const res = await call(lc, { method: 'GET', url: `/v3/marketing/contacts/${id}` });
    const updated = Date.parse(res.body.updated_at);
    const date = Date.parse(String(res.headers.date));
    expect(Math.abs(updated - Date.now() - 3_600_000)).toBeLessThan(10_000);
    // The Date header has whole seconds and is taken as the request arrives, after the write.
    expect(date).toBeGreaterThanOrEqual(Math.floor(updated / 1000) * 1000);
    expect(date - updated).toBeLessThan(10_000);
    expect((await admin(lag.url, 'POST', '/sendgrid/clock', { advanceMs: 'x' })).status).toBe(400);
    expect((await admin(lag.url, 'PUT', '/sendgrid/search-index', { lagMs: -1 })).status).toBe(400);
  });

  it('may answer the newest matches instead of the oldest; the count stays that of every match', async () => {
    const query = `updated_at >= TIMESTAMP '1970-01-01T00:00:00.000Z'`;
    const oldest = await search(query);
    expect((await admin(lag.url, 'PUT', '/sendgrid/search-index', { picks: 'newest' })).status).toBe(200);
    const newest = await search(query);
    expect([oldest.body.contact_count, newest.body.contact_count]).toEqual([120, 120]);
    const key = (c: any): string => `${c.updated_at} ${c.id}`;
    const all = [...lag.store.contacts.values()]
      .map((c) => `${new Date(c.updatedAt).toISOString()} ${c.id}`)
      .sort();
    expect(oldest.body.result.map(key)).toEqual(all.slice(0, 50));
    expect(newest.body.result.map(key)).toEqual(all.slice(-50).reverse());
    // A query the index can only narrow answers the same way.
    const narrowed = await search(`${query} AND first_name != 'nobody'`);
    expect(narrowed.body.result.map(key)[0]).toBe(all[all.length - 1]);
    expect((await admin(lag.url, 'PUT', '/sendgrid/search-index', { picks: 'any' })).status).toBe(400);
    lag.reset();
    expect(lag.store.searchPicks).toBe('oldest');
  });
});

describe('Event Webhook settings', () => {
  it('exposes the signing public key with and without an id, and toggles signing', async () => {
    const noId = await sg('GET', '/v3/user/webhooks/event/settings/signed', {
      specPath: '/v3/user/webhooks/event/settings/signed/{id}',
    });
    expect(noId.body).toEqual({ id: '', public_key: sb.credentials.webhookPublicKey });
    const all = await sg('GET', '/v3/user/webhooks/event/settings/all');
    const id = all.body.webhooks[0].id;
    const withId = await sg('GET', '/v3/user/webhooks/event/settings/signed/{id}', { params: { id } });
    expect(withId.body).toEqual({ id, public_key: sb.credentials.webhookPublicKey });
    expect(
      (await sg('GET', '/v3/user/webhooks/event/settings/signed/{id}', { params: { id: 'nope' } })).status,
    ).toBe(404);

    const off = await sg('PATCH', '/v3/user/webhooks/event/settings/signed/{id}', {
      params: { id },
      body: { enabled: false },
    });
    expect(off.body.public_key).toBe('');
    const on = await sg('PATCH', '/v3/user/webhooks/event/settings/signed/{id}', {
      params: { id },
      body: { enabled: true },
    });
    expect(on.body.public_key).toBe(sb.credentials.webhookPublicKey);
  });
});

describe('the spec validator itself', () => {
  it('rejects bodies that break the documented schema and undocumented statuses', () => {
    expect(() => validator.assertResponse('PUT', '/v3/marketing/contacts', 202, { job_id: 5 })).toThrow(
      /does not match/,
    );
    expect(() => validator.assertResponse('GET', '/v3/marketing/contacts/{id}', 200, { id: 'x' })).toThrow(
      /list_ids/,
    );
    expect(() => validator.assertResponse('GET', '/v3/marketing/contacts/count', 418, {})).toThrow(
      /does not document/,
    );
  });
});
