import type { Provenance } from '../canonical/customer.model';
import { decodeProvenance, encodeProvenance } from './provenance-codec';

describe('provenance codec', () => {
  const p: Provenance = {
    email: { connection: 'salesforce', at: '2025-05-22T11:54:58.000Z', record: '003A' },
    firstName: { connection: 'salesforce', at: '2025-05-22T11:54:58.000Z', record: '003A' },
    phone: { connection: 'salesforce', at: '2024-12-09T18:46:38.000Z', record: '003B' },
    city: { connection: 'hubspot', at: '2025-05-22T11:54:58.000Z' },
    country: { connection: 'hubspot', at: '2025-05-22T11:54:58.000Z', record: '' },
  };

  it('groups fields by source and reads them back exactly, a missing record and an empty one kept apart', () => {
    const stored = encodeProvenance(p);
    expect(JSON.parse(stored)).toEqual([
      ['salesforce', '2025-05-22T11:54:58.000Z', '003A', 'email', 'firstName'],
      ['salesforce', '2024-12-09T18:46:38.000Z', '003B', 'phone'],
      ['hubspot', '2025-05-22T11:54:58.000Z', null, 'city'],
      ['hubspot', '2025-05-22T11:54:58.000Z', '', 'country'],
    ]);
    const back = decodeProvenance(stored);
    expect(back).toEqual(p);
    expect('record' in back.city).toBe(false);
  });

  it('is a fraction of the per-field form for a customer set by one record', () => {
    const one: Provenance = {};
    for (const f of ['email', 'firstName', 'lastName', 'phone', 'company', 'city', 'country', 'leadSource'])
      one[f] = { connection: 'salesforce', at: '2025-05-22T11:54:58.000Z', record: '003Hs0000000MkOIAU' };
    expect(encodeProvenance(one).length).toBeLessThan(JSON.stringify(one).length / 4);
  });

  it("reads rows stored in the per-field form, and an erased customer's empty object", () => {
    expect(decodeProvenance(JSON.stringify(p))).toEqual(p);
    expect(decodeProvenance('{}')).toEqual({});
    expect(decodeProvenance(encodeProvenance({}))).toEqual({});
  });
});
