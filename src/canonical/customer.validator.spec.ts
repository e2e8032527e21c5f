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
});
