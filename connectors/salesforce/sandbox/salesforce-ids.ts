/**
 * Salesforce-style record ids: 15 case-sensitive characters (3-char key prefix + 12) and the
 * 3-char case-insensitive checksum suffix Salesforce appends to make the 18-char form.
 * Never random: ids come from a counter so seeded sandboxes are reproducible.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export const KeyPrefix = {
  Contact: '003',
  Lead: '00Q',
  Account: '001',
  Organization: '00D',
  User: '005',
  QueryLocator: '01g',
  OutboundAction: '04k',
  OutboundNotification: '04l',
} as const;

/** The documented checksum: per 5-char chunk, a bit per uppercase letter (reversed) picks one letter. */
export function checksumSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

/** Base62 digits are in ASCII order, so ids made from increasing counters also sort increasingly. */
export function makeId(prefix: string, counter: number, pod = 'Hs'): string {
  let n = counter;
  let digits = '';
  do {
    digits = BASE62[n % 62] + digits;
    n = Math.floor(n / 62);
  } while (n > 0);
  const id15 = prefix + pod + digits.padStart(10, '0');
  return id15 + checksumSuffix(id15);
}

/** Accepts 15- or 18-char ids the way Salesforce does and returns the 18-char form, or undefined. */
export function normalizeId(id: string): string | undefined {
  if (!/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(id)) return undefined;
  const id15 = id.slice(0, 15);
  const full = id15 + checksumSuffix(id15);
  if (id.length === 18 && id.slice(15).toUpperCase() !== full.slice(15)) return undefined;
  return full;
}

export class IdFactory {
  private counters = new Map<string, number>();

  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return makeId(prefix, n);
  }

  reset(): void {
    this.counters.clear();
  }
}
