// How personal data is laid out at rest. Customer fields and history keep their non-personal values readable
// (reports, debugging) and move the personal ones into one sealed blob per row: one encryption per row, not per
// value, which is what keeps the sync path fast. Free-form documents (audit payloads, raw vendor records,
// webhook events) are sealed whole because any key in them may carry personal data.
import type { CustomerFields, FieldValue } from '../canonical/customer.model';
import type { FieldChange } from '../canonical/merge-rules';
import { BoundedMemo } from '../common/bounded-memo';
import { FieldCipher } from './field-cipher';

export const DEFAULT_PII_FIELDS = ['email', 'phone', 'firstName', 'lastName'];
/**
 * Custom attributes whose names say they hold contact data (custom.mobilePhone, custom.homeEmail…) are personal
 * by default: mappings add such fields freely, and a forgotten flag must not leave a phone number in the clear.
 */
const PII_CUSTOM_NAME =
  /^custom\.(.*(phone|mobile|email|e_?mail|fax|address|street|birth|ssn|passport|name))$/i;
/** Key of the sealed blob inside a fields object; never a canonical field name (those are standard or custom.*). */
export const SEALED_KEY = '~pii';
const SEALED_CHANGE = '~pii';

interface SealedChange {
  field: typeof SEALED_CHANGE;
  sealed: string;
}

export class PiiCodec {
  readonly piiFields: ReadonlySet<string>;

  /** @param openedMemo opened blobs remembered (see `opened`); the detection thread keeps few, having its profiles */
  constructor(
    readonly cipher: FieldCipher,
    extraPiiFields: string[] = [],
    openedMemo = 5_000,
  ) {
    this.piiFields = new Set([...DEFAULT_PII_FIELDS, ...extraPiiFields]);
    this.opened = new BoundedMemo<string, CustomerFields>(openedMemo);
  }

  isPii(field: string): boolean {
    return this.piiFields.has(field) || PII_CUSTOM_NAME.test(field);
  }

  sealFields(fields: CustomerFields): Record<string, FieldValue> {
    let pii: Record<string, FieldValue> | undefined;
    const out: Record<string, FieldValue> = {};
    for (const [k, v] of Object.entries(fields)) {
      if (this.isPii(k)) (pii ??= {})[k] = v;
      else out[k] = v;
    }
    if (pii) out[SEALED_KEY] = this.cipher.encrypt(JSON.stringify(pii));
    return out;
  }

  /** Accepts sealed rows and legacy plaintext rows alike (the key rotation seals the latter). */
  openFields(stored: Record<string, FieldValue>): CustomerFields {
    const sealed = stored[SEALED_KEY];
    if (typeof sealed !== 'string') return stored;
    const out: CustomerFields = { ...stored };
    delete out[SEALED_KEY];
    Object.assign(out, this.openSealed(sealed));
    return out;
  }

  // The same customer row is read several times per page (merge, duplicate detection, outbox). A ciphertext always
  // opens to the same plaintext, so a bounded memo keyed by it is exact; it lives only in this process's memory.
  // ~600 bytes an entry (the ciphertext as key and the opened object): up to ~6 MB at twice the capacity.
  private readonly opened: BoundedMemo<string, CustomerFields>;

  private openSealed(sealed: string): CustomerFields {
    let v = this.opened.get(sealed);
    if (!v) {
      v = JSON.parse(this.cipher.decrypt(sealed)) as CustomerFields;
      this.opened.set(sealed, v);
    }
    return v;
  }

  sealChanges(changes: FieldChange[]): (FieldChange | SealedChange)[] {
    const pii: [number, FieldChange][] = [];
    const out: (FieldChange | SealedChange)[] = [];
    changes.forEach((c, i) => (this.isPii(c.field) ? pii.push([i, c]) : out.push(c)));
    if (pii.length) out.push({ field: SEALED_CHANGE, sealed: this.cipher.encrypt(JSON.stringify(pii)) });
    return out;
  }

  /** Restores the original order of the changes. */
  openChanges(stored: (FieldChange | SealedChange)[]): FieldChange[] {
    const sealed = stored.find((c): c is SealedChange => c.field === SEALED_CHANGE && 'sealed' in c);
    if (!sealed) return stored as FieldChange[];
    const plain = stored.filter((c) => c !== sealed) as FieldChange[];
    const out: FieldChange[] = [];
    const pii = JSON.parse(this.cipher.decrypt(sealed.sealed)) as [number, FieldChange][];
    let p = 0;
    let q = 0;
    for (let i = 0; p < pii.length || q < plain.length; i++) {
      if (p < pii.length && pii[p][0] === i) out.push(pii[p++][1]);
      else out.push(plain[q++]);
    }
    return out;
  }

  sealText(text: string): string {
    return this.cipher.encrypt(text);
  }

  /** Plain text passes through: rows written before encryption, and pseudonymized audit payloads. */
  openText(text: string): string {
    return FieldCipher.isToken(text) ? this.cipher.decrypt(text) : text;
  }

  /** Connection credentials: literal secrets sealed one by one; environment references stay readable. */
  sealCredentials(credentials: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(credentials))
      out[k] = typeof v === 'string' && !FieldCipher.isToken(v) ? this.cipher.encrypt(v) : v;
    return out;
  }

  openCredentials<T extends Record<string, unknown>>(stored: T): T {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(stored)) out[k] = FieldCipher.isToken(v) ? this.cipher.decrypt(v) : v;
    return out as T;
  }

  /** True when a stored text holds a value under a key other than the current one. */
  hasStaleKey(text: string): boolean {
    for (const id of FieldCipher.keyIdsIn(text)) if (id !== this.cipher.currentKeyId) return true;
    return false;
  }
}
