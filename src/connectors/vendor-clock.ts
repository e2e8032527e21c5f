// A vendor's clock as its answers tell it. Incremental cursors that must not pass what the vendor may still write
// (a second still open, a search index still behind) are judged by the vendor's time, never the worker's.

/** Without a `Date` header, the local clock stands in, taken as this far ahead of the vendor's. */
export const LOCAL_CLOCK_SKEW_MS = 30_000;

/** An answer's `Date` header (whole seconds, rounded down) as epoch ms, or undefined when absent or unreadable. */
export function dateHeaderMs(headers: Record<string, string | undefined> | undefined): number | undefined {
  const v = headers?.date ?? headers?.Date;
  const ms = v ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The vendor's time at an answer: its `Date` header, else the local time the request was sent, less the skew. */
export function vendorTimeAt(serverTime: number | undefined, askedAt: number): number {
  return serverTime ?? askedAt - LOCAL_CLOCK_SKEW_MS;
}
