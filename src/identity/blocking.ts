// Blocking keys: a customer is only compared with customers sharing at least one key, so detection costs
// O(block size) per touched customer instead of O(n) (never O(n²) over the base). Several keys per customer
// keep recall when one field carries the typo: phonetic last name + first initial, phonetic first name +
// company, the phone's last 7 digits, and the normalized email local part.
import doubleMetaphone from 'talisman/phonetics/double-metaphone';
import { BoundedMemo } from '../common/bounded-memo';
import type { CustomerFields } from '../canonical/customer.model';
import { matchProfile, type MatchProfile } from './similarity';

// Names repeat across a base (a few thousand surnames cover most people), so their codes are memoized; bounded.
const codes = new BoundedMemo<string, string>(20_000);
function phonetic(s: string): string {
  if (!s) return '';
  let code = codes.get(s);
  if (code === undefined) {
    code = doubleMetaphone(s)[0];
    codes.set(s, code);
  }
  return code;
}

/**
 * The version of the rules below. Raise it with any change to what blockKeysOf returns for some customer (a key
 * added or dropped, a normalization or phonetic code changed): a store keyed by an older version is then re-keyed
 * in the background (BlockKeyRules), where without it the customers not touched since would keep keys the new
 * arrivals never look up. test/identity/block-key-rules.db.spec.ts pins the rules' output to this number.
 */
export const BLOCKING_RULES_VERSION = 1;

export function blockKeys(f: CustomerFields): string[] {
  return blockKeysOf(matchProfile(f));
}

export function blockKeysOf(p: MatchProfile): string[] {
  const keys = new Set<string>();
  const first = p.firstName;
  const last = p.lastName;
  const company = p.company.split(' ')[0] ?? '';
  if (last && first) keys.add(`n:${phonetic(last)}:${first[0]}`);
  if (first && company) keys.add(`f:${phonetic(first)}:${company}`);
  if (last && company) keys.add(`c:${phonetic(last)}:${company}`);
  for (const phone of p.phones) if (phone) keys.add(`p:${phone.slice(-7)}`);
  const email = p.email;
  // Very short local parts ("info", "jo") say little about the person and make huge blocks.
  if (email && email.local.replace(/\d+$/, '').length >= 4) keys.add(`e:${email.local.replace(/\d+$/, '')}`);
  return [...keys].map((k) => k.slice(0, 128));
}
