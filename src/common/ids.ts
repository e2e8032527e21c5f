// Ids for keys that many indexes are built on: they sort by creation time.
import { createHash } from 'node:crypto';

/**
 * A UUIDv7-layout id (RFC 9562): 48 bits of Unix milliseconds, then 74 bits of a SHA-1 of (namespace, name).
 * Ids made later sort later, so rows keyed by them are appended at the end of every index on that key instead of
 * landing on random pages (with random ids, each commit rewrote pages spread over whole indexes, a cost that grew
 * with the base); ids made in the same millisecond still differ by name.
 */
export function timeOrderedUuid(ms: number, namespace: string, name: string): string {
  const h = createHash('sha1').update(namespace).update('\u0000').update(name).digest();
  const t = Math.max(0, Math.floor(ms));
  h.writeUIntBE(t, 0, 6);
  h[6] = (h[6] & 0x0f) | 0x70;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
