import { isValidPhoneNumber } from 'libphonenumber-js';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { generatePerson } from '../sandbox/people';
import { toE164 } from '../mapping/transforms/phone.transforms';
import { validateCustomerFields } from './customer.validator';

describe('canonical record validation', () => {
  it('accepts a clean record', () => {
    expect(
      validateCustomerFields({
        email: 'ada@example.com',
        phone: '+14155550123',
        country: 'GB',
        totalSpent: '12.50',
        orderCount: 3,
        lastPurchaseAt: '2026-01-01T10:00:00.000Z',
        emailConsent: 'subscribed',
      }),
    ).toEqual([]);
  });

  it('reports every problem, not just the first', () => {
    const issues = validateCustomerFields(
      {
        email: 'not-an-email',
        phone: '555-0100',
        country: 'XX',
        totalSpent: '-3.00',
        lastPurchaseAt: 'last tuesday',
        orderCount: -1,
      },
      ['lastName'],
    );
    expect(issues.map((i) => i.field).sort()).toEqual([
      'country',
      'email',
      'lastName',
      'lastPurchaseAt',
      'orderCount',
      'phone',
      'totalSpent',
    ]);
  });

  it('rejects a lowercase or unknown country code and an invalid consent value', () => {
    expect(validateCustomerFields({ country: 'gb' })[0].field).toBe('country');
    expect(validateCustomerFields({ emailConsent: 'maybe' })[0].field).toBe('emailConsent');
  });

  it('does not echo the full email address in the reason', () => {
    const [issue] = validateCustomerFields({ email: 'someone.private@@example.com' });
    expect(issue.message).not.toContain('someone.private');
  });

  it('skips empty optional fields and flags empty required ones', () => {
    expect(validateCustomerFields({ phone: '', email: null })).toEqual([]);
    expect(validateCustomerFields({ email: '  ' }, ['email'])).toEqual([
      { field: 'email', message: 'is required by the mapping but empty' },
    ]);
  });

  it('accepts every number the e164 transform produced, which it vouches for with the full numbering plan', () => {
    // The transform records its numbers as valid so this check does not parse them again. That is right only if
    // the full ("max") metadata's verdict implies this check's own: measured on the sandbox's people, every
    // country it draws from, and on the numbers the transform gives the validator.
    let checked = 0;
    for (let i = 0; i < 3_000; i++) {
      const { phone, country } = generatePerson(i, 7) as { phone?: string; country?: string };
      if (!phone) continue;
      const parsed = parsePhoneNumberFromString(phone, country as CountryCode | undefined);
      if (!parsed?.isValid()) continue;
      expect(isValidPhoneNumber(parsed.number)).toBe(true);
      const e164 = toE164(phone, country);
      expect(e164).toBe(parsed.number);
      expect(validateCustomerFields({ phone: e164 })).toEqual([]);
      checked++;
    }
    expect(checked).toBeGreaterThan(2_000);
    // A number the transform never produced is still checked here.
    expect(validateCustomerFields({ phone: '+4420' })[0].field).toBe('phone');
  });
});
