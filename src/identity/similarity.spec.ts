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

  // Namesakes: in a base of 30,000 seeded people nearly all pairs agreeing on the name and nothing else are two
  // people (bench/scoring-eval.ts). They neither merge nor wait for review.
  describe('evidence an automatic merge needs besides the name', () => {
    const lei = { firstName: 'Lei', lastName: 'Li', email: 'lei.li@hotmail.com', city: 'Toronto' };

    it('caps agreeing names alone below the review floor, with the reason', () => {
      const s = scorePair({ firstName: 'Lei', lastName: 'Li' }, { firstName: 'LEI', lastName: 'li ' })!;
      expect(s.fields.map((f) => f.similarity)).toEqual([1, 1]);
      expect(s.score).toBe(0.7);
      expect(s.cap).toBe('nothing but the name agrees: capped at 0.7');
    });

    it('does not take a mailbox made of the name at another provider, nor the city, as corroboration', () => {
      const s = scorePair(lei, { ...lei, email: 'lei.li@proton.me' })!;
      expect(s.fields.find((f) => f.field === 'email')!.note).toBe('same local part, different domain');
      expect(s.fields.find((f) => f.field === 'city')!.similarity).toBe(1);
      expect(s.score).toBe(0.7);
      // A similar address at one provider is another mailbox.
      const other = scorePair({ ...lei, email: 'leili@gmail.com' }, { ...lei, email: 'leili4@gmail.com' })!;
      expect(other.cap).toMatch(/nothing but the name/);
    });

    it('merges agreeing names with the same number, the same handle with its number, or the same company', () => {
      const phone = scorePair(
        { ...lei, phone: '+14165550123' },
        { ...lei, email: 'lei.li@proton.me', phone: '416 555 0123' },
      )!;
      expect(phone.cap).toBeUndefined();
      expect(phone.score).toBeGreaterThan(0.92);
      const handle = scorePair(
        { ...lei, email: 'lli1987@hotmail.com' },
        { ...lei, email: 'lli1987@126.com' },
      )!;
      expect(handle.fields.find((f) => f.field === 'email')!.note).toBe(
        'same local part with its number, different domain',
      );
      expect(handle.score).toBeGreaterThan(0.92);
      const company = scorePair(
        { ...lei, company: 'Harbor Ltd' },
        { ...lei, company: 'Harbor', email: 'lei.li@proton.me' },
      )!;
      expect(company.score).toBeGreaterThan(0.92);
    });

    it('matches a mobile number against the main one, and blocks them together', () => {
      const a = { ...ann, phone: null, 'custom.mobilePhone': '+4930123456789' };
      const s = scorePair(a, { ...ann, email: 'ann@gmail.com' })!;
      expect(s.fields.find((f) => f.field === 'phone')).toMatchObject({
        similarity: 1,
        note: 'same number (custom.mobilePhone and phone)',
        corroborates: true,
      });
      expect(blockKeys(a)).toContain('p:3456789');
      // An office number on one side and a mobile on the other, different: not evidence of two people.
      const officeOnly = { ...ann, email: 'ann@gmail.com', phone: '+4930111222333' };
      const mobileOnly = { ...ann, phone: null, 'custom.mobilePhone': '+4915199988877' };
      expect(scorePair(officeOnly, mobileOnly)!.fields.map((f) => f.field)).not.toContain('phone');
      // Two office numbers that differ are.
      expect(scorePair(officeOnly, ann)!.fields.find((f) => f.field === 'phone')!.similarity).toBe(0);
    });

    it('takes two full numbers sharing their last 7 digits as two numbers, a number without its area code as one', () => {
      const toronto = { ...lei, phone: '+1 416 555 0123' };
      expect(
        scorePair(toronto, { ...lei, phone: '+1 212 555 0123' })!.fields.find((f) => f.field === 'phone'),
      ).toMatchObject({
        similarity: 0,
      });
      expect(
        scorePair(toronto, { ...lei, phone: '555-0123' })!.fields.find((f) => f.field === 'phone'),
      ).toMatchObject({
        similarity: 1,
      });
    });

    it('counts only the same company as evidence, and no placeholder company at all', () => {
      const li = { firstName: 'Lei', lastName: 'Li', city: 'Toronto' };
      const bank = scorePair({ ...li, company: 'Deutsche Bank AG' }, { ...li, company: 'Deutsche Bahn AG' })!;
      expect(bank.fields.find((f) => f.field === 'company')!.similarity).toBeGreaterThan(0.95);
      expect(bank.cap).toMatch(/nothing but the name/);
      const self = scorePair({ ...li, company: 'Self-employed' }, { ...li, company: 'self employed' })!;
      expect(self.fields.map((f) => f.field)).not.toContain('company');
      expect(self.cap).toMatch(/nothing but the name/);
    });

    it('does not count the city toward the two fields a pair needs to be scored', () => {
      expect(
        scorePair({ phone: '+4930123456789', city: 'Berlin' }, { phone: '+4930123456789', city: 'Berlin' }),
      ).toBeNull();
    });

    it('caps customers in different countries below the automatic threshold', () => {
      const s = scorePair({ ...ann, country: 'DE' }, { ...ann, country: 'AT' })!;
      expect(s.score).toBe(0.8);
      expect(s.cap).toBe('different countries: capped at 0.8');
      expect(scorePair({ ...ann, country: 'DE' }, { ...ann })!.cap).toBeUndefined();
      // Namesakes in two countries: the lower cap.
      const namesakes = { firstName: 'Ann', lastName: 'Lee', country: 'DE' };
      expect(scorePair(namesakes, { ...namesakes, country: 'US' })!.score).toBe(0.7);
    });
  });

  it('leaves a placeholder last name out (the first name again, or "[not provided]"), as a missing one', () => {
    const greco = { firstName: 'Andrea', lastName: 'Greco', company: 'Summit', phone: '+61403979411' };
    for (const lastName of ['Andrea', 'ANDREA', '[not provided]']) {
      const s = scorePair(greco, { ...greco, lastName })!;
      expect(s.fields.map((f) => f.field)).not.toContain('lastName');
      expect(s.cap).toBeUndefined();
      expect(s.score).toBeGreaterThan(0.92);
    }
    expect(matchProfile({ firstName: 'Andrea', lastName: 'Andrea' }).lastName).toBe('');
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
    const base = {
      ...ann,
      jobTitle: 'CTO',
      city: 'Berlin',
      'custom.tier': 'gold',
      'custom.mobilePhone': '+4915112345678',
    };
    for (const field of [...STANDARD_FIELDS, 'custom.tier', 'custom.mobilePhone']) {
      const changed = {
        ...base,
        [field]: field.endsWith('At') ? '2030-01-01T00:00:00.000Z' : 'Changed Value 9',
      };
      const same = JSON.stringify(matchProfile(changed)) === JSON.stringify(matchProfile(base));
      expect({ field, profileChanged: !same }).toEqual({ field, profileChanged: MATCH_FIELDS.has(field) });
    }
  });
});
