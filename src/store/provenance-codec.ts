// Provenance as stored in `customers.provenance`: one group per source (connection, source time, record) listing the
// fields it set, instead of one object per field. A customer's fields mostly come from one or two records at one or
// two times, so a Salesforce contact's provenance takes ~250 bytes instead of ~1,050, a tenth of what a record
// stores. Rows written in the per-field form (before session 11, and `{}` for an erased customer) are read as they
// are; a row takes the grouped form when it is next written.
import type { FieldProvenance, Provenance } from '../canonical/customer.model';

/** [connection, at, record or null, ...fields] */
type Group = (string | null)[];

export function encodeProvenance(p: Provenance): string {
  const groups = new Map<string, Group>();
  // Consecutive fields mostly share their source: the previous field's group is checked before a key is built.
  let last: { s: Provenance[string]; g: Group } | undefined;
  for (const field in p) {
    const s = p[field];
    if (last && last.s.connection === s.connection && last.s.at === s.at && last.s.record === s.record) {
      last.g.push(field);
      continue;
    }
    const key = `${s.connection}\u0000${s.at}\u0000${s.record === undefined ? '\u0001' : s.record}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = [s.connection, s.at, s.record ?? null]));
    g.push(field);
    last = { s, g };
  }
  return JSON.stringify([...groups.values()]);
}

export function decodeProvenance(stored: string): Provenance {
  const v = JSON.parse(stored) as Provenance | Group[];
  if (!Array.isArray(v)) return v;
  const out: Provenance = {};
  for (const g of v) {
    const connection = g[0] as string;
    const at = g[1] as string;
    const record = g[2];
    for (let i = 3; i < g.length; i++) {
      const s: FieldProvenance = record === null ? { connection, at } : { connection, at, record };
      out[g[i] as string] = s;
    }
  }
  return out;
}
