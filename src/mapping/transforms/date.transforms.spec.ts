import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('isoDateTime', () => {
  const t = transform('isoDateTime');
  it('outputs UTC with milliseconds for every offset style', () => {
    expect(t('2024-01-15T10:30:00.000+0000')).toBe('2024-01-15T10:30:00.000Z'); // Salesforce
    expect(t('2024-01-15T10:30:00Z')).toBe('2024-01-15T10:30:00.000Z'); // SendGrid
    expect(t('2024-01-15T12:30:00+02:00')).toBe('2024-01-15T10:30:00.000Z');
    expect(t('2024-01-15T05:00:00-05')).toBe('2024-01-15T10:00:00.000Z');
    expect(t('2024-01-15T15:45:00+0515')).toBe('2024-01-15T10:30:00.000Z');
    expect(t('2024-01-15 10:30Z')).toBe('2024-01-15T10:30:00.000Z');
  });
  it('crosses day and year boundaries correctly', () => {
    expect(t('2024-01-01T01:00:00+02:00')).toBe('2023-12-31T23:00:00.000Z');
  });
  it('truncates sub-millisecond precision and pads short fractions', () => {
    expect(t('2024-01-15T10:30:00.123456Z')).toBe('2024-01-15T10:30:00.123Z');
    expect(t('2024-01-15T10:30:00.5Z')).toBe('2024-01-15T10:30:00.500Z');
  });
  it('rejects impossible dates instead of rolling them over', () => {
    expect(() => t('2023-02-29T00:00:00Z')).toThrow('no such date');
    expect(() => t('2024-13-01T00:00:00Z')).toThrow('no such date');
    expect(() => t('2024-01-01T24:00:00Z')).toThrow('no such time');
    expect(t('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
  });
  it('rejects offset-less text unless assumeUtc, and date-only text', () => {
    expect(() => t('2024-01-15T10:30:00')).toThrow('ambiguous');
    expect(transform('isoDateTime', { assumeUtc: true })('2024-01-15T10:30:00')).toBe(
      '2024-01-15T10:30:00.000Z',
    );
    expect(() => t('2024-01-15')).toThrow(TransformError);
  });
  it('reads epoch numbers only with the epoch flag', () => {
    expect(() => t(1705314600000)).toThrow('epoch');
    expect(transform('isoDateTime', { epoch: 'ms' })(1705314600000)).toBe('2024-01-15T10:30:00.000Z');
    expect(transform('isoDateTime', { epoch: 'ms' })('1705314600000')).toBe('2024-01-15T10:30:00.000Z');
    expect(transform('isoDateTime', { epoch: 's' })(1705314600)).toBe('2024-01-15T10:30:00.000Z');
  });
  it('accepts Date objects and treats empty as null', () => {
    expect(t(new Date('2024-01-15T10:30:00Z'))).toBe('2024-01-15T10:30:00.000Z');
    expect(t('')).toBeNull();
    expect(t(null)).toBeNull();
  });
  it('rejects garbage', () => {
    for (const bad of ['yesterday', '15/01/2024', '2024-01-15T10:30:00+25:00', true, new Date('x')]) {
      expect(() => t(bad)).toThrow(TransformError);
    }
  });
  it('rejects an unknown epoch unit when loaded', () => {
    expect(() => transform('isoDateTime', { epoch: 'us' })).toThrow(/isoDateTime/);
  });
});

describe('isoDate', () => {
  const t = transform('isoDate');
  it('keeps a valid calendar date', () => {
    expect(t('2024-02-29')).toBe('2024-02-29');
    expect(() => t('2023-02-29')).toThrow('no such date');
  });
  it('takes the UTC date of a date-time', () => {
    expect(t('2024-01-01T01:00:00+02:00')).toBe('2023-12-31');
    expect(transform('isoDate', { epoch: 'ms' })(0)).toBe('1970-01-01');
  });
  it('keeps years below 100 as written', () => {
    expect(t('0099-12-31')).toBe('0099-12-31');
  });
});
