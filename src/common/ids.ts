// Stable ids: the same (namespace, name) always yields the same RFC 4122 v5-style UUID, so a replayed page
// creates the same customer id instead of a new one.
import { createHash } from 'node:crypto';

export function stableUuid(namespace: string, name: string): string {
  const h = createHash('sha1').update(namespace).update('\u0000').update(name).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
