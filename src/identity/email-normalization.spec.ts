import { EmailRule, normalizeEmailForMatching, parseEmailRules } from './email-normalization';

describe('email normalization rules', () => {
  it('applies case and whitespace by default', () => {
    expect(normalizeEmailForMatching('  Ann.Lee@Example.COM ')).toBe('ann.lee@example.com');
    expect(normalizeEmailForMatching('   ')).toBeNull();
    expect(normalizeEmailForMatching(42)).toBeNull();
  });
  it('folds gmail dots and googlemail only when configured', () => {
    const rules = parseEmailRules('case,whitespace,gmail-dots');
    expect(normalizeEmailForMatching('A.Nn.Lee@googlemail.com', rules)).toBe('annlee@gmail.com');
    expect(normalizeEmailForMatching('a.nn@example.com', rules)).toBe('a.nn@example.com');
    expect(normalizeEmailForMatching('a.nn@gmail.com')).toBe('a.nn@gmail.com');
  });
  it('drops +tags when configured', () => {
    expect(normalizeEmailForMatching('ann+news@x.io', [EmailRule.Case, EmailRule.PlusTags])).toBe('ann@x.io');
    expect(normalizeEmailForMatching('ann+news@x.io')).toBe('ann+news@x.io');
  });
  it('refuses unknown rules', () => {
    expect(() => parseEmailRules('case,soundex')).toThrow(/soundex/);
  });
});
