import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('e164', () => {
  it('normalizes international numbers without a default country', () => {
    expect(transform('e164')('+44 20 7946 0958')).toBe('+442079460958');
    expect(transform('e164')('+1 (415) 555-0132')).toBe('+14155550132');
  });
  it('reads national numbers in a fixed default country', () => {
    expect(transform('e164', { defaultCountry: 'US' })('(415) 555-0132')).toBe('+14155550132');
    expect(transform('e164', { defaultCountry: 'DE' })('030 12345678')).toBe('+493012345678');
  });
  it('takes the default country from another field of the record, as a name or a code', () => {
    expect(
      transform(
        'e164',
        { defaultCountryFrom: 'MailingCountry' },
        { MailingCountry: 'United States' },
      )('415.555.0132'),
    ).toBe('+14155550132');
    expect(transform('e164', { defaultCountryFrom: 'country' }, { country: 'fr' })('01 42 68 53 00')).toBe(
      '+33142685300',
    );
  });
  it('falls back to the fixed default when the record has no usable country', () => {
    const t = transform('e164', { defaultCountry: 'US', defaultCountryFrom: 'c' }, { c: 'Narnia' });
    expect(t('415 555 0132')).toBe('+14155550132');
  });
  it('rejects invalid numbers instead of passing them through', () => {
    expect(() => transform('e164', { defaultCountry: 'US' })('555-0000')).toThrow(TransformError);
    expect(() => transform('e164', { defaultCountry: 'US' })('not a phone')).toThrow('invalid phone number');
    expect(() => transform('e164')('020 7946 0958')).toThrow('no country');
    expect(() => transform('e164', { defaultCountry: 'GB' })('+1 000 000 0000')).toThrow(TransformError);
  });
  it('treats empty as null', () => {
    expect(transform('e164')('  ')).toBeNull();
    expect(transform('e164')(null)).toBeNull();
  });
  it('validates its args when loaded', () => {
    expect(() => transform('e164', { defaultCountry: 'usa' })).toThrow(/alpha-2/);
    expect(() => transform('e164', { country: 'US' })).toThrow(/e164/);
  });
});
