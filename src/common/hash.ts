import { createHash } from 'node:crypto';
import { stableStringify } from './stable-json';

/** Content hash of a JSON value, independent of key order: equal hashes mean "nothing to send". */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}
