// Deterministic pseudo-random numbers for the sandboxes (mulberry32). Owns nothing else: every seeded choice
// in the kit and in vendor sandboxes goes through here so a seed reproduces a run exactly. Never use Math.random.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  pick<T>(a: readonly T[]): T;
  /** True with probability p (p <= 0 never, p >= 1 always). */
  chance(p: number): boolean;
}

export function createRng(seed: number): Rng {
  return new Mulberry32(seed);
}

// A class rather than closures: people.ts creates one per generated person, so allocation cost matters.
class Mulberry32 implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max is below min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new RangeError('pick() from an empty array');
    return a[Math.floor(this.next() * a.length)];
  }

  // Always draws, so toggling a probability does not shift the rest of the sequence.
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/**
 * A well-mixed 32-bit seed for item `index` of a stream seeded with `seed`, so item i can be generated on its own
 * (same value whatever the total count) without the neighbouring seeds being correlated.
 */
export function deriveSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((index >>> 0) + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fisher–Yates shuffle in place with the given rng; returns the same array. */
export function shuffleInPlace<T>(rng: Rng, a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Weighted choice: `weights[i]` is the relative weight of `items[i]`. */
export function pickWeighted<T>(rng: Rng, items: readonly T[], weights: readonly number[]): T {
  let total = 0;
  for (const w of weights) total += w;
  let r = rng.next() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i];
    if (r < 0) return items[i];
  }
  return items[items.length - 1];
}
