import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('text transforms', () => {
  it('trim removes surrounding whitespace, including non-breaking and unicode spaces', () => {
    expect(transform('trim')('  Ada \t')).toBe('Ada');
    expect(transform('trim')('\u00a0Zoë\u2003')).toBe('Zoë');
    expect(transform('trim')('')).toBe('');
  });

  it('passes null through and maps lists element-wise', () => {
    expect(transform('trim')(null)).toBeNull();
    expect(transform('lowercase')(undefined)).toBeNull();
    expect(transform('trim')([' a ', null, ' b'])).toEqual(['a', null, 'b']);
  });

  it('reads numbers and booleans as text but rejects objects', () => {
    expect(transform('trim')(42)).toBe('42');
    expect(transform('uppercase')(true)).toBe('TRUE');
    expect(() => transform('trim')({ a: 1 })).toThrow(TransformError);
  });

  it('lowercase and uppercase handle non-ASCII letters', () => {
    expect(transform('lowercase')('ÉLODIE@EXAMPLE.COM')).toBe('élodie@example.com');
    expect(transform('uppercase')('straße')).toBe('STRASSE');
  });

  it('titleCase capitalizes all-lower or all-upper names, across hyphens, apostrophes and scripts', () => {
    const t = transform('titleCase');
    expect(t('ada lovelace')).toBe('Ada Lovelace');
    expect(t("MARY-JANE O'NEIL")).toBe("Mary-Jane O'Neil");
    expect(t('élodie ÿvon')).toBe('Élodie Ÿvon');
    expect(t('ΣΩΚΡΆΤΗΣ')).toBe('Σωκράτης');
    expect(t('')).toBe('');
  });

  it('titleCase leaves deliberate mixed case alone', () => {
    expect(transform('titleCase')('McDonald')).toBe('McDonald');
    expect(transform('titleCase')('van der Berg')).toBe('van der Berg');
  });

  it('titleCase leaves scripts without case untouched', () => {
    expect(transform('titleCase')('山田 太郎')).toBe('山田 太郎');
  });

  it('emptyToNull turns empty and whitespace text (and lists of empties) into null only', () => {
    const t = transform('emptyToNull');
    expect(t('')).toBeNull();
    expect(t('   ')).toBeNull();
    expect(t([null, ''])).toBeNull();
    expect(t('x')).toBe('x');
    expect(t(0)).toBe(0);
    expect(t(false)).toBe(false);
  });

  it('defaultIfEmpty fills only empty values', () => {
    const t = transform('defaultIfEmpty', '[not provided]');
    expect(t('')).toBe('[not provided]');
    expect(t(null)).toBe('[not provided]');
    expect(t('Acme')).toBe('Acme');
    expect(t(0)).toBe(0);
  });

  it('constant ignores its input, and may be null', () => {
    expect(transform('constant', 'lead')('anything')).toBe('lead');
    expect(transform('constant', 7)(null)).toBe(7);
    expect(transform('constant', null)('x')).toBeNull();
  });

  it('rejects args on transforms that take none, and missing args where needed', () => {
    expect(() => transform('trim', { x: 1 })).toThrow('trim: takes no arguments');
    expect(() => transform('constant')).toThrow('constant: needs arguments');
    expect(() => transform('defaultIfEmpty', { nested: true })).toThrow(/defaultIfEmpty/);
  });
});
