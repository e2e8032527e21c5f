import * as path from 'node:path';
import { mergeFields } from '../canonical/merge-rules';
import { checkRoundTrip, mapInbound, mapOutbound } from './mapping.engine';
import { loadMappings, parseMappingFile } from './mapping.loader';
import type { CompiledMapping } from './mapping.types';

// The real mapping files shipped in mappings/.
const all = loadMappings(path.join(__dirname, '..', '..', 'mappings'));
const mapping = (connector: string, object: string): CompiledMapping => {
  const m = all.find((x) => x.connector === connector && x.object === object);
  if (!m) throw new Error(`no ${connector}/${object}`);
  return m;
};
const sfContact = mapping('salesforce', 'Contact');
const sfLead = mapping('salesforce', 'Lead');
const hubspot = mapping('hubspot', 'contacts');
const sendgrid = mapping('sendgrid', 'contacts');

// Records as the vendors' REST APIs return them.
const salesforceContact = () => ({
  attributes: { type: 'Contact', url: '/services/data/v62.0/sobjects/Contact/003Dn00000AbCdEIAV' },
  Id: '003Dn00000AbCdEIAV',
  FirstName: 'Ada',
  LastName: 'Lovelace',
  Email: 'ada.lovelace@example.com',
  Phone: '+14155550132',
  MobilePhone: '+447911123456',
  Title: 'Analyst',
  Account: { attributes: { type: 'Account' }, Name: 'Analytical Engines Ltd' },
  MailingCity: 'London',
  MailingCountry: 'United Kingdom',
  LeadSource: 'Web',
  HasOptedOutOfEmail: false,
  Description: 'Met at the 1843 expo',
  Syncline_Id__c: 'cus_01HZX3',
  SystemModstamp: '2024-03-05T14:07:31.000+0000',
});

const salesforceLead = () => ({
  Id: '00QDn000008xYzAMAU',
  FirstName: 'Grace',
  LastName: 'Hopper',
  Email: 'grace@navy.example',
  Phone: '+12025550143',
  MobilePhone: null,
  Title: 'Rear Admiral',
  Company: 'US Navy',
  City: 'Arlington',
  Country: 'United States',
  LeadSource: 'Event',
  HasOptedOutOfEmail: true,
  Description: null,
  Syncline_Id__c: null,
  SystemModstamp: '2024-03-05T14:07:31.000+0000',
});

const hubspotContact = () => ({
  id: '51',
  properties: {
    createdate: '2024-01-02T09:00:00.000Z',
    email: 'jose.garcia@example.es',
    firstname: 'José',
    lastname: 'García Márquez',
    phone: '+34912345678',
    company: 'Macondo SL',
    jobtitle: 'Writer',
    city: 'Madrid',
    country: 'Spain',
    lifecyclestage: 'customer',
    hs_email_optout: 'false',
    hs_object_id: '51',
    lastmodifieddate: '2024-03-05T14:07:31.512Z',
  },
  createdAt: '2024-01-02T09:00:00.000Z',
  updatedAt: '2024-03-05T14:07:31.512Z',
  archived: false,
});

const sendgridContact = () => ({
  id: 'ab3f2c1e-5d7a-4b8e-9c0f-1a2b3c4d5e6f',
  email: 'zoe.mueller@example.de',
  first_name: 'Zoë',
  last_name: 'Müller',
  phone_number: '+493012345678',
  city: 'Berlin',
  country: 'Germany',
  external_id: 'cus_01HZX9',
  alternate_emails: [],
  list_ids: ['f2b1c0d9'],
  custom_fields: { company: 'Stadtwerke', lifecycle_stage: 'subscriber' },
  created_at: '2024-01-02T09:00:00Z',
  updated_at: '2024-03-05T14:07:31Z',
});

describe('mapInbound over the shipped mappings', () => {
  it('maps a Salesforce Contact, with the relationship field, external id and timestamp', () => {
    const r = mapInbound(sfContact, salesforceContact());
    expect(r).toEqual({
      externalId: '003Dn00000AbCdEIAV',
      syncId: 'cus_01HZX3',
      sourceTimestamp: '2024-03-05T14:07:31.000Z',
      fields: {
        email: 'ada.lovelace@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        phone: '+14155550132',
        'custom.mobilePhone': '+447911123456',
        jobTitle: 'Analyst',
        company: 'Analytical Engines Ltd',
        city: 'London',
        country: 'GB',
        leadSource: 'Web',
        emailConsent: 'subscribed',
        'custom.sfDescription': 'Met at the 1843 expo',
      },
      clearable: ['custom.sfDescription'],
      issues: [],
      mappingVersion: 1,
    });
  });

  it('maps a Salesforce Lead: constant lifecycle stage, opted-out consent, nulls kept as nulls', () => {
    const r = mapInbound(sfLead, salesforceLead());
    expect(r.issues).toEqual([]);
    expect(r.fields).toMatchObject({
      company: 'US Navy',
      country: 'US',
      lifecycleStage: 'lead',
      emailConsent: 'unsubscribed',
      'custom.mobilePhone': null,
      'custom.sfDescription': null,
    });
    expect(r.syncId).toBeNull();
    expect(r.clearable).toEqual(['custom.sfDescription']);
  });

  it('normalizes messy vendor values', () => {
    const rec = {
      ...salesforceContact(),
      Email: '  Ada.Lovelace@EXAMPLE.com ',
      FirstName: 'ADA',
      LastName: "o'brien-smith",
      Phone: '(415) 555-0132',
      MailingCountry: 'USA',
      Account: null,
    };
    const r = mapInbound(sfContact, rec);
    expect(r.issues).toEqual([]);
    expect(r.fields).toMatchObject({
      email: 'ada.lovelace@example.com',
      firstName: 'Ada',
      lastName: "O'Brien-Smith",
      phone: '+14155550132',
      country: 'US',
      company: null,
    });
  });

  it('maps HubSpot nested properties, text booleans and unicode names', () => {
    const r = mapInbound(hubspot, hubspotContact());
    expect(r.issues).toEqual([]);
    expect(r.externalId).toBe('51');
    expect(r.sourceTimestamp).toBe('2024-03-05T14:07:31.512Z');
    expect(r.fields).toEqual({
      email: 'jose.garcia@example.es',
      firstName: 'José',
      lastName: 'García Márquez',
      phone: '+34912345678',
      company: 'Macondo SL',
      jobTitle: 'Writer',
      city: 'Madrid',
      country: 'ES',
      lifecycleStage: 'customer',
      emailConsent: 'subscribed',
    });
  });

  it('maps SendGrid custom fields by name and reads a national phone in the contact country', () => {
    const r = mapInbound(sendgrid, { ...sendgridContact(), phone_number: '030 12345678' });
    expect(r.issues).toEqual([]);
    expect(r.syncId).toBe('cus_01HZX9');
    expect(r.sourceTimestamp).toBe('2024-03-05T14:07:31.000Z');
    expect(r.fields).toMatchObject({
      phone: '+493012345678',
      company: 'Stadtwerke',
      lifecycleStage: 'subscriber',
      country: 'DE',
    });
    expect(r.fields).not.toHaveProperty('emailConsent');
  });

  it('leaves out fields the vendor record does not carry (partial webhook payloads)', () => {
    const r = mapInbound(hubspot, {
      id: '7',
      properties: { email: 'a@b.example', lastmodifieddate: '2024-03-05T14:07:31.512Z' },
    });
    expect(r.fields).toEqual({ email: 'a@b.example' });
    expect(r.issues).toEqual([]);
  });

  it('reports every problem on the record, each on its field, and keeps the good fields', () => {
    const r = mapInbound(sfContact, {
      ...salesforceContact(),
      Email: '   ',
      Phone: '12',
      MailingCountry: 'Narnia',
      HasOptedOutOfEmail: 'perhaps',
      Id: '',
      SystemModstamp: 'last tuesday',
    });
    expect(r.issues).toEqual([
      { field: 'phone', message: 'e164: invalid phone number "12" (no country to read it in)' },
      { field: 'country', message: 'countryCode: unknown country "Narnia"' },
      { field: 'emailConsent', message: 'boolean: not a boolean: "perhaps"' },
      { field: 'email', message: 'required field is missing or empty' },
      { field: 'identity.key', message: 'record has no Id' },
      { field: 'timestamp', message: 'not an ISO 8601 date/time: "last tuesday"' },
    ]);
    expect(r.fields.firstName).toBe('Ada');
    expect(r.fields).not.toHaveProperty('phone');
    expect(r.externalId).toBeNull();
  });

  it('falls back to the read time when the record or the mapping has no timestamp', () => {
    const { SystemModstamp: _omit, ...rec } = salesforceContact();
    expect(mapInbound(sfContact, rec, { readAt: '2024-05-01T00:00:00+02:00' }).sourceTimestamp).toBe(
      '2024-04-30T22:00:00.000Z',
    );
    const before = Date.now();
    const at = Date.parse(mapInbound(sfContact, rec).sourceTimestamp);
    expect(at).toBeGreaterThanOrEqual(before);
  });

  it('rejects values that break the canonical model and lists left unreduced', () => {
    const { mapping } = parseMappingFile(
      `connector: acme
object: people
version: 3
identity: { key: id }
inbound:
  orderCount: { from: orders }
  totalSpent: { from: spent, transforms: [decimal] }
  custom.tags: { from: [a, b] }
  custom.when: { from: at, transforms: [{ isoDateTime: { epoch: ms } }] }
`,
      'acme.yaml',
    );
    const r = mapInbound(mapping as CompiledMapping, {
      id: 1,
      orders: -2,
      spent: '10.50',
      a: 'x',
      b: 'y',
      at: 0,
    });
    expect(r.externalId).toBe('1');
    expect(r.fields).toEqual({ totalSpent: '10.5', 'custom.when': '1970-01-01T00:00:00.000Z' });
    expect(r.issues.map((i) => i.field)).toEqual(['orderCount', 'custom.tags']);
    expect(r.issues[1].message).toContain('not a single value');
    expect(r.mappingVersion).toBe(3);
  });

  it('feeds merge rules: clearable empties erase, others do not', () => {
    const first = mapInbound(sfContact, salesforceContact());
    const stored = mergeFields(null, { connection: 'sf', ...first });
    const blanked = mapInbound(sfContact, {
      ...salesforceContact(),
      Description: '',
      Title: '',
      SystemModstamp: '2024-03-06T00:00:00.000+0000',
    });
    const merged = mergeFields(stored, { connection: 'sf', ...blanked });
    expect(merged.fields).not.toHaveProperty('custom.sfDescription');
    expect(merged.fields.jobTitle).toBe('Analyst');
  });
});

describe('mapOutbound over the shipped mappings', () => {
  it('rebuilds nested HubSpot properties and writes only what the customer has', () => {
    const r = mapOutbound(hubspot, {
      email: 'a@b.example',
      firstName: 'Ada',
      country: 'GB',
      emailConsent: 'unsubscribed',
    });
    expect(r).toEqual({
      record: {
        properties: {
          email: 'a@b.example',
          firstname: 'Ada',
          country: 'United Kingdom',
          hs_email_optout: 'true',
        },
      },
      issues: [],
      mappingVersion: 2,
    });
  });

  it('writes the canonical id to the Salesforce external id field and maps consent to the checkbox', () => {
    const r = mapOutbound(
      sfContact,
      { email: 'a@b.example', emailConsent: 'unsubscribed', lastName: 'Lovelace' },
      { customerId: 'cus_1' },
    );
    expect(r.record).toEqual({
      Email: 'a@b.example',
      LastName: 'Lovelace',
      HasOptedOutOfEmail: true,
      Syncline_Id__c: 'cus_1',
    });
    expect(mapOutbound(sfContact, { emailConsent: 'unknown' }).record).toEqual({ HasOptedOutOfEmail: false });
  });

  it('fills the Lead company placeholder only when the customer has an empty company', () => {
    expect(mapOutbound(sfLead, { company: '' }).record).toEqual({ Company: '[not provided]' });
    expect(mapOutbound(sfLead, { email: 'x@y.example' }).record).toEqual({ Email: 'x@y.example' });
  });

  it('rebuilds SendGrid custom fields by name', () => {
    const r = mapOutbound(
      sendgrid,
      { email: 'z@example.de', company: 'Stadtwerke', country: 'DE' },
      { customerId: 'cus_9' },
    );
    expect(r.record).toEqual({
      email: 'z@example.de',
      country: 'Germany',
      custom_fields: { company: 'Stadtwerke' },
      external_id: 'cus_9',
    });
  });

  it('reports a transform failure on the vendor field', () => {
    const r = mapOutbound(hubspot, { email: 'a@b.example', country: 'XX' });
    expect(r.record).toEqual({ properties: { email: 'a@b.example' } });
    expect(r.issues).toEqual([{ field: 'properties.country', message: 'countryName: unknown country "XX"' }]);
  });
});

describe('round trip vendor -> canonical -> vendor', () => {
  const cases: [string, CompiledMapping, Record<string, unknown>][] = [
    ['salesforce Contact', sfContact, salesforceContact()],
    ['salesforce Lead', sfLead, salesforceLead()],
    ['hubspot contacts', hubspot, hubspotContact()],
    ['sendgrid contacts', sendgrid, sendgridContact()],
  ];

  it.each(cases)('%s keeps every field mapped both ways, unchanged', (_name, m, record) => {
    const report = checkRoundTrip(m, record);
    expect(report).toEqual({ lost: [], changed: [], drift: [], issues: [] });
  });

  it.each(cases)(
    '%s writes back every vendor field it reads that has an outbound rule',
    (_name, m, record) => {
      const out = mapOutbound(m, mapInbound(m, record).fields).record;
      const both = m.outbound
        .map((r) => r.target)
        .filter((t) => m.inbound.some((r) => r.sources.includes(t)));
      expect(both.length).toBeGreaterThanOrEqual(8);
      for (const p of both)
        expect(p.split('.').reduce<any>((o, k) => o?.[k], out)).toEqual(
          p.split('.').reduce<any>((o, k) => o?.[k], record),
        );
    },
  );

  it('is stable for messy records: values normalize once, then stay put', () => {
    const messy = {
      ...hubspotContact(),
      properties: {
        ...hubspotContact().properties,
        email: ' JOSE@Example.ES',
        phone: '912 34 56 78',
        country: 'españa',
      },
    };
    const report = checkRoundTrip(hubspot, messy);
    expect(report.lost).toEqual([]);
    expect(report.drift).toEqual([]);
    expect(report.changed.map((c) => c.path)).toEqual([
      'properties.email',
      'properties.phone',
      'properties.country',
    ]);
  });

  it('reports a mapping that loses a field', () => {
    const { mapping } = parseMappingFile(
      `connector: acme\nobject: people\nversion: 1\nidentity: { key: id }\ninbound:\n  city: { from: town }\noutbound:\n  town: { from: city, transforms: [{ constant: null }] }\n`,
      'acme.yaml',
    );
    expect(checkRoundTrip(mapping as CompiledMapping, { id: '1', town: 'Paris' }).changed).toEqual([
      { path: 'town', before: 'Paris', after: null },
    ]);
  });
});
