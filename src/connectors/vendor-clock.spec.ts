import { dateHeaderMs, LOCAL_CLOCK_SKEW_MS, vendorTimeAt } from './vendor-clock';

describe('vendor clock', () => {
  it('reads the Date header in either case, and nothing from a missing or unreadable one', () => {
    const at = 'Fri, 04 Dec 2026 18:00:05 GMT';
    expect(dateHeaderMs({ date: at })).toBe(Date.parse(at));
    expect(dateHeaderMs({ Date: at })).toBe(Date.parse(at));
    expect(dateHeaderMs({ date: 'yesterday-ish' })).toBeUndefined();
    expect(dateHeaderMs({})).toBeUndefined();
    expect(dateHeaderMs(undefined)).toBeUndefined();
  });

  it("falls back to the request's local time less the skew allowance", () => {
    expect(vendorTimeAt(5_000, 99_000)).toBe(5_000);
    expect(vendorTimeAt(undefined, 99_000)).toBe(99_000 - LOCAL_CLOCK_SKEW_MS);
  });
});
