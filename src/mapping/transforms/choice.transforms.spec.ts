import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('boolean', () => {
  const t = transform('boolean');
  it('reads the usual spellings, case-insensitively', () => {
    for (const yes of [true, 'true', 'TRUE', ' yes ', 'Y', '1', 1, 'on']) expect(t(yes)).toBe(true);
    for (const no of [false, 'false', 'No', 'n', '0', 0, 'off']) expect(t(no)).toBe(false);
  });
  it('treats empty as null and rejects anything else', () => {
    expect(t('')).toBeNull();
    expect(t(null)).toBeNull();
    for (const bad of ['maybe', 2, 'truthy', {}]) expect(() => t(bad)).toThrow(TransformError);
  });
});

describe('enum', () => {
  const consent = transform('enum', {
    map: { true: 'unsubscribed', false: 'subscribed' },
    default: 'unknown',
  });
  it('maps by the text of the value, so booleans and numbers match string keys', () => {
    expect(consent(true)).toBe('unsubscribed');
    expect(consent(false)).toBe('subscribed');
    expect(transform('enum', { map: { '1': 'one' } })(1)).toBe('one');
  });
  it('uses the default for unmapped and empty input', () => {
    expect(consent('other')).toBe('unknown');
    expect(consent(null)).toBe('unknown');
  });
  it('can map to booleans and null, and a null default counts as a default', () => {
    const out = transform('enum', { map: { unsubscribed: true }, default: false });
    expect(out('unsubscribed')).toBe(true);
    expect(out('subscribed')).toBe(false);
    expect(transform('enum', { map: { a: 1 }, default: null })('b')).toBeNull();
  });
  it('without a default, unmapped input is an error and empty input is null', () => {
    const strict = transform('enum', { map: { lead: 'lead' } });
    expect(() => strict('customer')).toThrow('not in the enum map');
    expect(strict('')).toBeNull();
  });
  it('matches case-insensitively when asked', () => {
    expect(transform('enum', { map: { Customer: 'customer' }, caseInsensitive: true })('CUSTOMER')).toBe(
      'customer',
    );
    expect(() => transform('enum', { map: { Customer: 'customer' } })('CUSTOMER')).toThrow(TransformError);
  });
  it('validates its args when loaded', () => {
    expect(() => transform('enum', { map: { a: { nested: 1 } } })).toThrow(/enum/);
    expect(() => transform('enum', { default: 'x' })).toThrow(/enum/);
    expect(() => transform('enum')).toThrow('enum: needs arguments');
  });
});
