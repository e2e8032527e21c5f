// Keyed blind index for exact lookups on encrypted values: HMAC-SHA256 of the normalized value, truncated to
// 128 bits (collisions stay negligible; the lookup still compares customers, never trusts the key alone).
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { EmailKeyer } from '../canonical/email-keyer';
import { BoundedMemo } from '../common/bounded-memo';

export class BlindIndex {
  private readonly key: KeyObject;

  // Emails and block keys recur on every re-read and across a page; an HMAC per lookup dominated duplicate
  // detection. The memo is exact (same input, same key -> same digest) and bounded: ~60 bytes of text an entry,
  // ~120 with V8's overheads, so up to ~6 MB (sized with the others to the 160 MB heap budget `npm start` sets).
  private readonly memo: BoundedMemo<string, string>;

  /** @param memo digests remembered (twice this at most, see BoundedMemo) */
  constructor(key: Buffer, memo = 25_000) {
    this.key = createSecretKey(key);
    this.memo = new BoundedMemo(memo);
  }

  of(normalized: string): string {
    const hit = this.memo.get(normalized);
    if (hit) return hit;
    const digest = createHmac('sha256', this.key).update(normalized).digest().subarray(0, 16).toString('hex');
    this.memo.set(normalized, digest);
    return digest;
  }
}

/** Email keys as blind index values, so the customers table never holds an address in the clear. */
export class BlindIndexEmailKeyer extends EmailKeyer {
  constructor(private readonly index: BlindIndex) {
    super();
  }

  key(email: string): string {
    return this.index.of(email);
  }
}
