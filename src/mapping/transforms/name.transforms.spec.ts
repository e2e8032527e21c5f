import { splitName } from './name.transforms';
import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('splitName', () => {
  it('splits at the first space so particles and compound surnames stay whole', () => {
    expect(splitName('Ada Lovelace')).toEqual({ first: 'Ada', last: 'Lovelace' });
    expect(splitName('Ludwig van Beethoven')).toEqual({ first: 'Ludwig', last: 'van Beethoven' });
    expect(splitName('Gabriel García Márquez')).toEqual({ first: 'Gabriel', last: 'García Márquez' });
  });
  it('reads "Last, First"', () => {
    expect(splitName('Lovelace, Ada')).toEqual({ first: 'Ada', last: 'Lovelace' });
  });
  it('handles one word, extra whitespace, empty and non-Latin scripts', () => {
    expect(splitName('Cher')).toEqual({ first: 'Cher', last: null });
    expect(splitName('  Ada   Lovelace ')).toEqual({ first: 'Ada', last: 'Lovelace' });
    expect(splitName('   ')).toEqual({ first: null, last: null });
    expect(splitName('Σωκράτης Παπαδόπουλος')).toEqual({ first: 'Σωκράτης', last: 'Παπαδόπουλος' });
  });
  it('is a named transform taking the part to keep', () => {
    expect(transform('splitName', 'first')('Ada Lovelace')).toBe('Ada');
    expect(transform('splitName', { part: 'last' })('Ada Lovelace')).toBe('Lovelace');
    expect(transform('splitName', 'last')('Cher')).toBeNull();
    expect(transform('splitName', 'first')(null)).toBeNull();
    expect(() => transform('splitName', 'middle')).toThrow(/splitName/);
  });
});

describe('join', () => {
  const t = transform('join', ' ');
  it('joins the non-empty parts of a list', () => {
    expect(t(['Ada', 'Lovelace'])).toBe('Ada Lovelace');
    expect(t(['Ada', null])).toBe('Ada');
    expect(t([' ', 'Lovelace '])).toBe('Lovelace');
    expect(t([null, ''])).toBeNull();
  });
  it('accepts the separator as an object and passes a single value through as text', () => {
    expect(transform('join', { separator: ', ' })(['London', 'GB'])).toBe('London, GB');
    expect(t(' Ada ')).toBe('Ada');
    expect(t(null)).toBeNull();
  });
  it('rejects nested objects', () => {
    expect(() => t([{ a: 1 }])).toThrow(TransformError);
  });
});
