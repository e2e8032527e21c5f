// Keyed blind index for exact lookups on encrypted values: HMAC-SHA256 of the normalized value, truncated to
// 128 bits (collisions stay negligible; the lookup still compares customers, never trusts the key alone).
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { EmailKeyer } from '../canonical/customer-writer.service';

export class BlindIndex {
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  of(normalized: string): string {
    return createHmac('sha256', this.key).update(normalized).digest().subarray(0, 16).toString('hex');
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
