// A bounded memo for pure functions over repetitive vendor values (country names, phone numbers of
// records read again on every incremental run). Cleared wholesale when full: simpler than an LRU and
// the hit rate on real data is dominated by a few hundred distinct values anyway.
export function boundedMemo<R>(limit: number, fn: (key: string) => R): (key: string) => R {
  const cache = new Map<string, R>();
  return (key) => {
    const hit = cache.get(key);
    if (hit !== undefined || cache.has(key)) return hit as R;
    const value = fn(key);
    if (cache.size >= limit) cache.clear();
    cache.set(key, value);
    return value;
  };
}
