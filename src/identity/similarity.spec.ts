import { STANDARD_FIELDS } from '../canonical/customer.model';
import { blockKeys } from './blocking';
import { MATCH_FIELDS, matchProfile, scorePair } from './similarity';

const ann = {
  firstName: 'Ann',
  lastName: 'Lee',
  company: 'Acme Robotics GmbH',
  phone: '+4930123456789',
  email: 'ann.lee@acme.de',
};

describe('fuzzy duplicate scoring', () => {
  it('scores a typo + email-case duplicate near 1 and explains every field', () => {
    const s = scorePair(ann, { ...ann, lastName: 'Lea', email: 'ANN.LEE@acme.de' })!;
    expect(s.score).toBeGreaterThan(0.92);
    expect(s.fields.map((f) => f.field).sort()).toEqual([
      'company',
      'email',
      'firstName',
      'lastName',
      'phone',
    ]);
    const last = s.fields.find((f) => f.field === 'lastName')!;
    expect(last.similarity).toBeLessThan(1);
    expect(last.note).toBe('Jaro-Winkler');
    expect(s.fields.find((f) => f.field === 'email')!.note).toMatch(/same address/);
    // Explanations never carry the personal values.
    expect(JSON.stringify(s)).not.toMatch(/acme\.de|Lee|123456/);
  });

  it('ignores company suffixes and phone formatting', () => {
    const s = scorePair(ann, { ...ann, company: 'ACME Robotics', phone: '030 123456789' })!;
    expect(s.fields.find((f) => f.field === 'company')!.similarity).toBe(1);
    expect(s.fields.find((f) => f.field === 'phone')!.similarity).toBe(1);
  });

  it('scores a different person low, and caps shared phone/mailbox with different names', () => {
    const other = scorePair(ann, {
      firstName: 'Bruno',
      lastName: 'Schulz',
      company: 'Globex',
      phone: '+4940999888777',
      email: 'bs@globex.de',
    })!;
    expect(other.score).toBeLessThan(0.6);
    const colleague = scorePair(ann, {
      ...ann,
      firstName: 'Marek',
      lastName: 'Novak',
      email: 'marek.novak@acme.de',
    })!;
    expect(colleague.score).toBeLessThanOrEqual(0.7);
    expect(colleague.score).toBeLessThan(0.75);
  });

  it('does not score pairs with fewer than two comparable fields', () => {
    expect(scorePair({ firstName: 'Ann' }, { firstName: 'Ann', company: 'X' })).toBeNull();
  });

  it('gives duplicates a shared block key', () => {
    const a = blockKeys(ann);
    const b = blockKeys({ ...ann, lastName: 'Leee', email: 'annlee@gmail.com' });
    expect(a.filter((k) => b.includes(k)).length).toBeGreaterThan(0);
    expect(blockKeys({})).toEqual([]);
  });
});

describe('match fields', () => {
  // Inbound skips detection for changes outside MATCH_FIELDS: that is only safe if nothing else reaches a profile.
  it('are the only fields a match profile (and so scoring and blocking) reads', () => {
    const base = { ...ann, jobTitle: 'CTO', city: 'Berlin', 'custom.tier': 'gold' };
    for (const field of [...STANDARD_FIELDS, 'custom.tier']) {
      const changed = {
        ...base,
        [field]: field.endsWith('At') ? '2030-01-01T00:00:00.000Z' : 'Changed Value 9',
      };
      const same = JSON.stringify(matchProfile(changed)) === JSON.stringify(matchProfile(base));
      expect({ field, profileChanged: !same }).toEqual({ field, profileChanged: MATCH_FIELDS.has(field) });
    }
  });
});
