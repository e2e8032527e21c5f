import { foldCountryName, resolveCountry } from './country.transforms';
import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('countryCode', () => {
  const t = transform('countryCode');
  it('keeps ISO alpha-2 codes, upper-cased', () => {
    expect(t('US')).toBe('US');
    expect(t(' de ')).toBe('DE');
  });
  it('resolves English and other-language names, accents and punctuation aside', () => {
    expect(t('United States')).toBe('US');
    expect(t('united kingdom')).toBe('GB');
    expect(t('Deutschland')).toBe('DE');
    expect(t('Allemagne')).toBe('DE');
    expect(t("Côte d'Ivoire")).toBe('CI');
    expect(t('COTE D’IVOIRE')).toBe('CI');
    expect(t('España')).toBe('ES');
    expect(t('the Netherlands')).toBe('NL');
    expect(t('Bosnia & Herzegovina')).toBe('BA');
  });
  it('knows short and common informal names', () => {
    expect(t('UK')).toBe('GB');
    expect(t('USA')).toBe('US');
    expect(t('U.S.A.')).toBe('US');
    expect(t('Czech Republic')).toBe('CZ');
  });
  it('treats empty as null and an unknown country as an error', () => {
    expect(t('')).toBeNull();
    expect(t(null)).toBeNull();
    expect(() => t('Narnia')).toThrow(TransformError);
    expect(() => t('ZZ')).toThrow('unknown country');
  });
  it('folds names for lookup', () => {
    expect(foldCountryName('  Åland  Islands ')).toBe('aland islands');
    expect(resolveCountry('Åland Islands')).toBe('AX');
  });
});

describe('countryName', () => {
  const t = transform('countryName');
  it('names a country in English from its code or any known name', () => {
    expect(t('US')).toBe('United States');
    expect(t('GB')).toBe('United Kingdom');
    expect(t('Deutschland')).toBe('Germany');
    expect(t(null)).toBeNull();
    expect(() => t('Atlantis')).toThrow(TransformError);
  });
  it('round-trips with countryCode', () => {
    const code = transform('countryCode');
    for (const c of ['US', 'GB', 'DE', 'FR', 'JP', 'BR', 'CI', 'KR', 'ZA']) expect(code(t(c))).toBe(c);
  });
});
