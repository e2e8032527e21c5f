import { stableStringify } from './stable-json';

// The plain definition the loop version replaced: audit digests and content hashes already stored were computed
// with it, so both must give the same text for every value.
function definition(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(definition).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${definition(obj[k])}`).join(',')}}`;
}

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  'a',
  'b',
  'B',
  'aa',
  'ä',
  'é',
  '10',
  '9',
  '',
  'z z',
  '"q"',
  '\u0000',
  'changes',
  'version',
  '😀',
];

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 7 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return next() < 0.5;
    case 3:
      return Math.floor(next() * 2000) - 1000 + (next() < 0.3 ? next() : 0);
    case 4:
      return KEYS[Math.floor(next() * KEYS.length)] + '\n\t\\/';
    case 5:
      return [NaN, Infinity, -0, 1e21][Math.floor(next() * 4)];
    case 6:
      return new Date(Math.floor(next() * 2e12));
    case 7:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 6); i > 0; i--)
        o[KEYS[Math.floor(next() * KEYS.length)]] = value(next, depth + 1);
      return o;
    }
  }
}

describe('stableStringify', () => {
  it('sorts keys at every depth and leaves out undefined members', () => {
    expect(stableStringify({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null }, e: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"z":1}]},"b":1}',
    );
    expect(stableStringify([undefined, 'x'])).toBe('[null,"x"]');
    expect(stableStringify(undefined)).toBe('null');
    // What the plain definition gave for values JSON has no text for: kept as it was.
    // eslint-disable-next-line no-sparse-arrays
    const odd = [1, , 2, () => 0, Symbol('s'), { f: () => 0 }];
    expect(stableStringify(odd)).toBe(definition(odd));
  });

  it('gives the text of the plain definition for every value (hashes already stored stay valid)', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const v = value(random(seed), 0);
      const got = stableStringify(v);
      if (got !== definition(v)) throw new Error(`seed ${seed}: ${got} !== ${definition(v)}`);
    }
    // Keys already in order and keys that are not, with numeric-looking keys (which objects list first).
    const o = { version: 2, changes: [{ field: 'email', after: 'x' }], at: 't', 2: 'two', 10: 'ten' };
    expect(stableStringify(o)).toBe(definition(o));
  });
});
