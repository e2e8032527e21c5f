import { createRng, deriveSeed, pickWeighted, shuffleInPlace } from './rng';

describe('createRng', () => {
  it('repeats the same sequence for the same seed and differs for another seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
  });

  it('keeps next() in [0, 1) and int() within both bounds, reaching each', () => {
    const r = createRng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const x = r.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = r.int(3, 6);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(6);
      seen.add(n);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });

  it('honours chance() extremes and rejects impossible picks', () => {
    const r = createRng(1);
    for (let i = 0; i < 100; i++) {
      expect(r.chance(0)).toBe(false);
      expect(r.chance(1)).toBe(true);
    }
    expect(() => r.pick([])).toThrow(RangeError);
    expect(() => r.int(5, 4)).toThrow(RangeError);
  });
});

describe('deriveSeed', () => {
  it('gives distinct, stable seeds per (seed, index)', () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 10_000; i++) seeds.add(deriveSeed(1, i));
    expect(seeds.size).toBe(10_000);
    expect(deriveSeed(1, 5)).toBe(deriveSeed(1, 5));
    expect(deriveSeed(1, 5)).not.toBe(deriveSeed(2, 5));
  });
});

describe('shuffleInPlace and pickWeighted', () => {
  it('shuffles into a permutation of the input', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = shuffleInPlace(createRng(3), a.slice());
    expect(shuffled).not.toEqual(a);
    expect(shuffled.slice().sort((x, y) => x - y)).toEqual(a);
  });

  it('follows the weights', () => {
    const r = createRng(9);
    let heavy = 0;
    for (let i = 0; i < 4000; i++) if (pickWeighted(r, ['a', 'b'], [3, 1]) === 'a') heavy++;
    expect(heavy / 4000).toBeGreaterThan(0.7);
    expect(heavy / 4000).toBeLessThan(0.8);
    expect(pickWeighted(r, ['only'], [0])).toBe('only');
  });
});
