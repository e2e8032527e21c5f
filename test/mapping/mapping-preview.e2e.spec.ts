// POST /mappings/preview through the real app: token guard, zod validation, and the shipped mappings.
import request from 'supertest';
import { startTestApp, TEST_TOKEN, type TestApp } from '../support/test-app';

describe('POST /mappings/preview', () => {
  let t: TestApp;
  const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
  const http = () => request(t.app.getHttpServer());

  // A HubSpot contact as its API returns it, deliberately untidy.
  const hubspotContact = {
    id: '51',
    properties: {
      email: '  Ada.Lovelace@Example.COM ',
      firstname: 'ada',
      lastname: 'lovelace',
      phone: '020 7946 0958',
      country: 'United Kingdom',
      jobtitle: 'Analyst',
      lifecyclestage: 'Lead',
      hs_email_optout: 'true',
      lastmodifieddate: '2024-03-05T14:07:31.512Z',
    },
  };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('requires the API token', async () => {
    await http()
      .post('/mappings/preview')
      .send({ connector: 'hubspot', object: 'contacts', record: {} })
      .expect(401);
  });

  it('returns the canonical record and every other mapping outbound, with the versions used', async () => {
    const res = await http()
      .post('/mappings/preview')
      .set(auth)
      .send({ connector: 'hubspot', object: 'contacts', record: hubspotContact })
      .expect(200);
    expect(res.body.canonical).toEqual({
      fields: expect.objectContaining({
        email: 'ada.lovelace@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        phone: '+442079460958',
        country: 'GB',
        emailConsent: 'unsubscribed',
      }),
      externalId: '51',
      sourceTimestamp: '2024-03-05T14:07:31.512Z',
      issues: [],
      mappingVersion: 2,
    });
    const targets = (res.body.outbound as { connector: string; object: string }[]).map(
      (o) => `${o.connector}/${o.object}`,
    );
    expect(targets).toEqual(
      expect.arrayContaining(['salesforce/Contact', 'salesforce/Lead', 'sendgrid/contacts']),
    );
    expect(targets).not.toContain('hubspot/contacts');
    const sfContact = res.body.outbound.find(
      (o: { connector: string; object: string }) => o.connector === 'salesforce' && o.object === 'Contact',
    );
    expect(sfContact).toMatchObject({
      record: { Email: 'ada.lovelace@example.com', FirstName: 'Ada', LastName: 'Lovelace' },
      issues: [],
      mappingVersion: expect.any(Number),
    });
  });

  it('reports mapping issues (a required field missing) instead of failing', async () => {
    const res = await http()
      .post('/mappings/preview')
      .set(auth)
      .send({
        connector: 'hubspot',
        object: 'contacts',
        record: { id: '52', properties: { firstname: 'no email' } },
      })
      .expect(200);
    expect(res.body.canonical.issues.map((i: { field: string }) => i.field)).toContain('email');
  });

  it('answers 400 naming the offending body field', async () => {
    const missing = await http()
      .post('/mappings/preview')
      .set(auth)
      .send({ connector: 'hubspot', object: 'contacts' })
      .expect(400);
    expect(missing.body.message).toContain('body field "record"');
    const wrongType = await http()
      .post('/mappings/preview')
      .set(auth)
      .send({ connector: 'hubspot', object: '', record: [] })
      .expect(400);
    expect(wrongType.body.message).toContain('body field "object"');
    expect(wrongType.body.message).toContain('body field "record"');
  });

  it('answers 404 for a connector/object without a mapping', async () => {
    const res = await http()
      .post('/mappings/preview')
      .set(auth)
      .send({ connector: 'nope', object: 'contacts', record: {} })
      .expect(404);
    expect(res.body.message).toContain('nope/contacts');
  });
});
