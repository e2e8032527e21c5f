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
  // Objects are mostly built in key order already; sort (which copies) only when they are not.
  for (let i = 1; i < keys.length; i++)
    if (keys[i - 1] > keys[i]) {
      keys.sort();
      break;
    }
  let out = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += (out.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + stableStringify(v);
  }
  return out + '}';
}
