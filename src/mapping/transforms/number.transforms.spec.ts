import { toDecimal } from './number.transforms';
import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('number', () => {
  const t = transform('number');
  it('reads numbers and numeric text', () => {
    expect(t(' 42.5 ')).toBe(42.5);
    expect(t('-3')).toBe(-3);
    expect(t('1e3')).toBe(1000);
    expect(t(7)).toBe(7);
  });
  it('treats empty as null', () => {
    expect(t('')).toBeNull();
    expect(t(null)).toBeNull();
  });
  it('rejects anything that is not plainly a number', () => {
    for (const bad of ['abc', '1,234', '12abc', '0x10', 'NaN', 'Infinity', true, Number.NaN]) {
      expect(() => t(bad)).toThrow(TransformError);
    }
  });
});

describe('integer', () => {
  const t = transform('integer');
  it('accepts integral values only', () => {
    expect(t('12')).toBe(12);
    expect(t('12.0')).toBe(12);
    expect(() => t('12.5')).toThrow('not an integer');
    expect(() => t('9007199254740993')).toThrow('too large');
  });
});

describe('decimal (exact)', () => {
  const t = transform('decimal');
  it('keeps every digit of large and fractional amounts, never through a float', () => {
    expect(t('12345678901234567890.123456789')).toBe('12345678901234567890.123456789');
    expect(t('0.1')).toBe('0.1');
    expect(t('-0.30')).toBe('-0.3');
  });
  it('normalizes to one spelling per amount', () => {
    expect(t('1234.50')).toBe('1234.5');
    expect(t('007.10')).toBe('7.1');
    expect(t('10.00')).toBe('10');
    expect(t('-0.00')).toBe('0');
    expect(t('+5')).toBe('5');
    expect(t('.5')).toBe('0.5');
  });
  it('converts JS numbers exactly, including exponent forms', () => {
    expect(t(19.99)).toBe('19.99');
    expect(t(1e21)).toBe('1000000000000000000000');
    expect(t(1.5e-7)).toBe('0.00000015');
    expect(t(-2)).toBe('-2');
  });
  it('is strict by default: separators, currency signs and exponent text are rejected', () => {
    for (const bad of ['1,234.50', '$10', '1e5', '1.2.3', '-', '.', 'ten', true])
      expect(() => t(bad)).toThrow(TransformError);
  });
  it('accepts well-placed thousands separators only when told to', () => {
    const grouped = transform('decimal', { thousandsSeparator: ',' });
    expect(grouped('1,234.50')).toBe('1234.5');
    expect(grouped('1,234,567')).toBe('1234567');
    expect(grouped('999')).toBe('999');
    expect(() => grouped('1,23')).toThrow(TransformError);
    expect(transform('decimal', { thousandsSeparator: "'" })("1'000.25")).toBe('1000.25');
  });
  it('treats empty as null', () => {
    expect(toDecimal('  ')).toBeNull();
    expect(toDecimal(undefined)).toBeNull();
  });
  it('rejects an unknown separator option when the mapping is loaded', () => {
    expect(() => transform('decimal', { thousandsSeparator: '.' })).toThrow(/decimal/);
  });
});
