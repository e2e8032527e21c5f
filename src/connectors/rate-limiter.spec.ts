import { InProcessRateLimiter } from './rate-limiter';

describe('InProcessRateLimiter', () => {
  /** Ms `n` acquires of `key` took. */
  const timed = async (limiter: InProcessRateLimiter, key: string, n: number) => {
    const fallback = { requests: 2, perMs: 400 };
    const t = Date.now();
    for (let i = 0; i < n; i++) await limiter.acquire(key, fallback);
    return Date.now() - t;
  };

  it('paces by the default budget until the vendor states one, then by what it stated', async () => {
    const limiter = new InProcessRateLimiter();
    // The default, two per 400 ms: the third waits for the window.
    expect(await timed(limiter, 'a', 2)).toBeLessThan(200);
    expect(await timed(limiter, 'a', 1)).toBeGreaterThanOrEqual(300);
    // Six stated: six at once, the seventh waits.
    limiter.learn('b', { requests: 6, perMs: 400 });
    expect(await timed(limiter, 'b', 6)).toBeLessThan(200);
    expect(await timed(limiter, 'b', 1)).toBeGreaterThanOrEqual(300);
  });
});
