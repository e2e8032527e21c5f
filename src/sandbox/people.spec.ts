// The full metadata checks number ranges, not just lengths.
import { isValidPhoneNumber, type CountryCode } from 'libphonenumber-js/max';
import isEmail from 'validator/lib/isEmail';
import { generatePeople, generatePerson, MESSINESS, personKeyOf, type SeedPerson } from './people';
import { COUNTRIES, CULTURES, NICKNAMES } from './people.data';

const byCode = new Map(COUNTRIES.map((c) => [c.code, c]));
const SAMPLE = 20_000;

describe('generatePeople', () => {
  let people: SeedPerson[];
  beforeAll(() => {
    people = generatePeople(SAMPLE, 11);
  });

  const share = (pred: (p: SeedPerson) => boolean): number => people.filter(pred).length / people.length;
  const has = (p: SeedPerson, tag: string): boolean => p.messy.includes(tag);

  it('is deterministic for a seed and different for another seed', () => {
    expect(generatePeople(200, 11)).toEqual(people.slice(0, 200));
    const other = generatePeople(200, 12);
    expect(other.filter((p, i) => p.email === people[i].email).length).toBeLessThan(10);
  });

  it('yields the same person i whatever the count', () => {
    expect(generatePeople(10, 11)[5]).toEqual(people[5]);
    expect(generatePerson(12_345, 11)).toEqual(people[12_345]);
    expect(generatePerson(SAMPLE - 1, 11)).toEqual(people[SAMPLE - 1]);
  });

  it('rejects a bad count', () => {
    expect(() => generatePeople(-1)).toThrow(RangeError);
    expect(() => generatePeople(1.5)).toThrow(RangeError);
  });

  describe('duplicates (ground truth)', () => {
    it('makes about 5% duplicates that point at an earlier original and share its personKey', () => {
      const dups = people.filter((p) => p.duplicateOf !== undefined);
      expect(dups.length / SAMPLE).toBeGreaterThan(0.04);
      expect(dups.length / SAMPLE).toBeLessThan(0.06);
      for (const d of dups) {
        const original = people[d.duplicateOf as number];
        expect(d.duplicateOf).toBeLessThan(d.index);
        expect(original.duplicateOf).toBeUndefined();
        expect(d.personKey).toBe(original.personKey);
        expect(personKeyOf(d.index, 11)).toBe(d.personKey);
        expect(d.messy).toContain('duplicate');
        expect(d.messy.some((m) => m.startsWith('duplicate:'))).toBe(true);
        expect(d.company).toBe(original.company);
      }
      // Every non-duplicate is its own person.
      const keys = new Set(people.map((p) => p.personKey));
      expect(keys.size).toBe(SAMPLE - dups.length);
    });

    it('spells duplicates slightly differently, as the recorded variation says', () => {
      const dups = people.filter((p) => p.duplicateOf !== undefined);
      const fold = (s?: string): string => (s ?? '').trim().toLowerCase();
      let checked = 0;
      for (const d of dups) {
        const o = people[d.duplicateOf as number];
        if (!d.firstName || !o.firstName || !d.lastName || !o.lastName) continue;
        if (has(d, 'duplicate:nickname') && !has(d, 'duplicate:typo')) {
          const formal = Object.keys(NICKNAMES).find((k) => fold(k) === fold(o.firstName));
          expect(formal).toBeDefined();
          expect(NICKNAMES[formal as string].map(fold)).toContain(fold(d.firstName));
          checked++;
        }
        if (has(d, 'duplicate:typo')) {
          const sameFirst = fold(d.firstName) === fold(o.firstName);
          const sameLast = fold(d.lastName) === fold(o.lastName);
          expect(sameFirst && sameLast).toBe(false);
          checked++;
        }
        if (
          has(d, 'duplicate:email-domain') &&
          d.email &&
          o.email &&
          !has(d, 'email-invalid') &&
          !has(o, 'email-invalid')
        ) {
          expect(fold(d.email).split('@')[1]).not.toBe(fold(o.email).split('@')[1]);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(100);
    });

    it('links chains of duplicates to the first original', () => {
      for (const i of [0, 1, 17, 5000, SAMPLE - 1]) {
        const p = people[i];
        expect(p.personKey).toBe(`psn-11-${p.duplicateOf ?? i}`);
      }
    });
  });

  describe('messiness', () => {
    it('has about 2% invalid emails, and every other email is valid once trimmed', () => {
      expect(share((p) => has(p, 'email-invalid'))).toBeGreaterThan(0.012);
      expect(share((p) => has(p, 'email-invalid'))).toBeLessThan(0.028);
      // Collected, not asserted per person: 20k expect() calls are slow and print nothing useful.
      const wrong = people.filter((p) =>
        p.email === undefined
          ? !has(p, 'email-missing')
          : isEmail(p.email.trim()) === has(p, 'email-invalid'),
      );
      expect(wrong.map((p) => p.email)).toEqual([]);
    });

    it('marks mixed-case and padded emails truthfully', () => {
      const wrong = people.filter(
        (p) =>
          p.email !== undefined &&
          ((p.email !== p.email.trim()) !== has(p, 'email-padded') ||
            (!has(p, 'email-mixed-case') && p.email !== p.email.toLowerCase())),
      );
      expect(wrong.map((p) => p.email)).toEqual([]);
      expect(share((p) => has(p, 'email-mixed-case'))).toBeGreaterThan(0.05);
      expect(share((p) => has(p, 'email-padded'))).toBeGreaterThan(0.02);
    });

    it('has about 3% invalid phones; every other phone is valid for its country', () => {
      expect(share((p) => has(p, 'phone-invalid'))).toBeGreaterThan(0.02);
      expect(share((p) => has(p, 'phone-invalid'))).toBeLessThan(0.04);
      expect(share((p) => p.phone === undefined)).toBeCloseTo(MESSINESS.phoneMissing, 1);
      const national = new Set<string>();
      for (const p of people.slice(0, 8000)) {
        if (p.phone === undefined) continue;
        const code = countryCodeOf(p) as CountryCode;
        // A national number without a country cannot be checked; that ambiguity is the point of the tag.
        if (!code && !p.phone.startsWith('+')) continue;
        const valid = code ? isValidPhoneNumber(p.phone, code) : isValidPhoneNumber(p.phone);
        if (valid === has(p, 'phone-invalid'))
          throw new Error(`phone ${p.phone} (${code}) valid=${valid}: ${p.messy}`);
        if (has(p, 'phone-national')) national.add(code);
      }
      expect(national.size).toBeGreaterThan(20);
      expect(share((p) => has(p, 'phone-national'))).toBeGreaterThan(0.15);
    });

    it('gives countries mostly as ISO codes, sometimes as names or missing', () => {
      expect(share((p) => has(p, 'country-name'))).toBeGreaterThan(0.04);
      expect(share((p) => p.country === undefined)).toBeGreaterThan(0.02);
      // 'UK' counts as a name here: it is not the ISO code (GB).
      const wrong = people.filter((p) =>
        has(p, 'country-name')
          ? byCode.has(p.country as string)
          : p.country !== undefined && !has(p, 'country-lowercase') && !byCode.has(p.country),
      );
      expect(wrong.map((p) => p.country)).toEqual([]);
    });

    it('leaves some fields missing and says so', () => {
      for (const tag of [
        'first-name-missing',
        'last-name-missing',
        'title-missing',
        'city-missing',
        'timezone-missing',
      ]) {
        expect(share((p) => has(p, tag))).toBeGreaterThan(0.005);
      }
      expect(people.filter((p) => has(p, 'city-missing')).every((p) => p.city === undefined)).toBe(true);
      expect(share((p) => p.messy.length === 0)).toBeGreaterThan(0.15);
    });
  });

  describe('realism', () => {
    it('spreads people over at least 25 countries and many name cultures', () => {
      const countries = new Set(people.map(countryCodeOf).filter(Boolean));
      expect(countries.size).toBeGreaterThanOrEqual(25);
      const allFirst = new Set(Object.values(CULTURES).flatMap((c) => c.first));
      const seenFirst = new Set(people.map((p) => p.firstName).filter((n) => n && allFirst.has(n)));
      expect(seenFirst.size).toBeGreaterThan(200);
      expect(people.some((p) => /[^ -~]/.test(p.lastName ?? ''))).toBe(true);
    });

    it('keeps city, time zone and country consistent', () => {
      const wrong = people.filter((p) => {
        const code = countryCodeOf(p);
        if (!code || !p.city || has(p, 'city-case')) return false;
        const city = byCode.get(code)?.cities.find((c) => c.name === p.city);
        return !city || (p.timezone !== undefined && p.timezone !== city.tz);
      });
      expect(wrong.map((p) => [p.city, p.country, p.timezone])).toEqual([]);
    });

    it('gives customers a decimal totalSpent and an order count', () => {
      const customers = people.filter((p) => p.lifecycleStage === 'customer');
      expect(customers.length).toBeGreaterThan(SAMPLE * 0.15);
      const wrong = customers.filter(
        (c) => !/^\d+\.\d{2}$/.test(c.totalSpent ?? '') || !(Number(c.orderCount) > 0),
      );
      expect(wrong).toEqual([]);
      expect(share((p) => p.optedOut)).toBeGreaterThan(0.03);
    });
  });
});

/** The ISO code behind a person's country field, whichever way it was written; '' when missing. */
function countryCodeOf(p: SeedPerson): string {
  if (!p.country) return '';
  const upper = p.country.toUpperCase();
  if (byCode.has(upper)) return upper;
  return COUNTRIES.find((c) => c.names.includes(p.country as string))?.code ?? '';
}
