// Deterministic JSON (sorted keys) so hashes of the same content are equal however it was built.
//
// Its output is what audit digests and content hashes were computed from, so it must never change: the spec
// checks it against the plain definition (keys filtered, sorted, mapped and joined). Written as loops with string
// appends because it runs twice for every audit entry and once per content hash: the plain definition allocated
// ~20% of a full sync's garbage (key arrays filtered, copied by sort, mapped, joined).
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = '[';
    // A hole, or a member JSON has no text for (a function), leaves its place empty, as join() did.
    for (let i = 0; i < value.length; i++)
      out += (i ? ',' : '') + ((i in value && stableStringify(value[i])) || '');
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  // Objects are mostly built in key order already, or nearly (an audit payload, a field change): an insertion sort
  // in place costs nothing for those and allocates nothing, where sort() copies the array into a work array of its
  // own (the largest source of garbage in a full sync's allocation profile). Long key lists go to sort().
  // `<` and sort()'s default order both compare UTF-16 code units, so the order is the same.
  if (keys.length > 32) keys.sort();
  else
    for (let i = 1; i < keys.length; i++) {
      const k = keys[i];
      let j = i - 1;
      if (keys[j] <= k) continue;
      while (j >= 0 && keys[j] > k) {
        keys[j + 1] = keys[j];
        j--;
      }
      keys[j + 1] = k;
    }
  let out = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += (out.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + stableStringify(v);
  }
  return out + '}';
}
