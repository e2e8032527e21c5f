import { BoundedMemo } from './bounded-memo';

describe('BoundedMemo', () => {
  it('holds at most twice its capacity, keeps what is in use and drops what is not', () => {
    const m = new BoundedMemo<string, number>(3);
    for (const k of ['a', 'b', 'c']) m.set(k, k.charCodeAt(0));
    m.set('d', 4); // young generation full: a, b, c become the old one
    expect(m.get('a')).toBe(97); // promoted back into the young generation
    m.set('e', 5);
    m.set('f', 6); // young (d, a, e) full: it becomes the old one; b and c are dropped with the previous old one
    expect(m.get('b')).toBeUndefined();
    expect(m.get('c')).toBeUndefined();
    expect(m.get('a')).toBe(97);
    expect(m.get('d')).toBe(4);
    expect(m.size).toBeLessThanOrEqual(6);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    expect(m.size).toBeLessThanOrEqual(6);
    expect(m.get('k999')).toBe(999);
  });

  it('replaces a value wherever the key is, and deletes it from both generations', () => {
    const m = new BoundedMemo<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3); // a, b now old
    m.set('a', 10);
    expect(m.get('a')).toBe(10);
    expect(m.size).toBe(3);
    m.delete('b');
    m.delete('c');
    expect(m.get('b')).toBeUndefined();
    expect(m.get('c')).toBeUndefined();
    m.clear();
    expect(m.size).toBe(0);
  });

  it('refuses a capacity that could hold nothing', () => {
    expect(() => new BoundedMemo(0)).toThrow(RangeError);
  });
});
