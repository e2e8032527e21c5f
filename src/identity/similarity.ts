// Fuzzy duplicate scoring: a weighted average of per-field similarities (Jaro-Winkler from talisman for names,
// company and email local part; exact digits for phones) over the fields both customers have, with an
// explanation per field. Pure; explanations carry similarities and notes, never the personal values themselves.
import jaroWinkler from 'talisman/metrics/jaro-winkler';
import type { CustomerFields } from '../canonical/customer.model';
import { normalizeEmailForMatching, EmailRule } from './email-normalization';

export interface FieldExplanation {
  field: 'firstName' | 'lastName' | 'company' | 'phone' | 'email';
  similarity: number;
  weight: number;
  note: string;
}

export interface MatchScore {
  score: number;
  fields: FieldExplanation[];
  /** Why the score was capped, when it was. */
  cap?: string;
}

export const FIELD_WEIGHTS = { firstName: 1, lastName: 1.5, company: 1, phone: 2, email: 2 } as const;
/** Fewer comparable fields than this and the pair is not scored: two fields can agree by accident. */
const MIN_FIELDS = 2;
/** Two different names with a shared phone or mailbox are usually colleagues or a household, not one person. */
const NAME_DISAGREEMENT = 0.75;
const NAME_CAP = 0.7;
const MATCH_RULES = [EmailRule.Case, EmailRule.Whitespace, EmailRule.GmailDots, EmailRule.PlusTags];
const COMPANY_SUFFIXES = new Set([
  'inc',
  'incorporated',
  'llc',
  'ltd',
  'limited',
  'plc',
  'gmbh',
  'ag',
  'sa',
  'sas',
  'sarl',
  'srl',
  'spa',
  'bv',
  'nv',
  'oy',
  'ab',
  'as',
  'kk',
  'co',
  'corp',
  'corporation',
  'company',
  'pty',
  'pte',
  'kg',
  'se',
]);

export function normalizeName(v: unknown): string {
  if (typeof v !== 'string') return '';
  return v
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

export function normalizeCompany(v: unknown): string {
  if (typeof v !== 'string') return '';
  const words = v
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .split(/[^a-z0-9]+/)
    .filter((w) => w && !COMPANY_SUFFIXES.has(w));
  return words.join(' ');
}

/** The last 9 digits: drops country codes and trunk prefixes that differ between E.164 and national forms. */
export function phoneDigits(v: unknown): string {
  if (typeof v !== 'string') return '';
  const d = v.replace(/\D/g, '');
  return d.length >= 7 ? d.slice(-9) : '';
}

export function emailParts(v: unknown): { local: string; domain: string } | null {
  const e = normalizeEmailForMatching(v, MATCH_RULES);
  if (!e) return null;
  const at = e.lastIndexOf('@');
  return at > 0 ? { local: e.slice(0, at), domain: e.slice(at + 1) } : null;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The normalized values scoring and blocking compare. Built once per customer per detection batch: a customer is
 * compared with up to 16 others, and normalizing both sides of every pair again cost more than the comparison.
 */
export interface MatchProfile {
  firstName: string;
  lastName: string;
  company: string;
  phone: string;
  email: { local: string; domain: string } | null;
}

/**
 * The canonical fields a match profile is built from, and so everything scoring and blocking can see. A change
 * that touches none of them leaves the customer's block keys and every score it takes part in as they were.
 */
export const MATCH_FIELDS: ReadonlySet<string> = new Set([
  'firstName',
  'lastName',
  'company',
  'phone',
  'email',
]);

export function matchProfile(f: CustomerFields): MatchProfile {
  return {
    firstName: normalizeName(f.firstName),
    lastName: normalizeName(f.lastName),
    company: normalizeCompany(f.company),
    phone: phoneDigits(f.phone),
    email: emailParts(f.email),
  };
}

export function scorePair(a: CustomerFields, b: CustomerFields): MatchScore | null {
  return scoreProfiles(matchProfile(a), matchProfile(b));
}

export function scoreProfiles(a: MatchProfile, b: MatchProfile): MatchScore | null {
  const fields: FieldExplanation[] = [];
  const text = (field: 'firstName' | 'lastName' | 'company') => {
    const x = a[field];
    const y = b[field];
    if (!x || !y) return;
    const s = x === y ? 1 : jaroWinkler(x, y);
    fields.push({
      field,
      similarity: round(s),
      weight: FIELD_WEIGHTS[field],
      note: x === y ? 'equal' : 'Jaro-Winkler',
    });
  };
  text('firstName');
  text('lastName');
  text('company');

  const pa = a.phone;
  const pb = b.phone;
  if (pa && pb) {
    const same = pa === pb || pa.slice(-7) === pb.slice(-7);
    fields.push({
      field: 'phone',
      similarity: same ? 1 : 0,
      weight: FIELD_WEIGHTS.phone,
      note: same ? 'same number' : 'different numbers',
    });
  }

  const ea = a.email;
  const eb = b.email;
  if (ea && eb) {
    if (ea.local === eb.local && ea.domain === eb.domain) {
      fields.push({
        field: 'email',
        similarity: 1,
        weight: FIELD_WEIGHTS.email,
        note: 'same address after normalization',
      });
    } else {
      const local = ea.local === eb.local ? 1 : jaroWinkler(ea.local, eb.local);
      // A different domain halves the evidence of a similar local part (work vs personal mailbox of one person).
      const sameDomain = ea.domain === eb.domain;
      const s = sameDomain ? local : local * 0.85;
      fields.push({
        field: 'email',
        similarity: round(s),
        weight: FIELD_WEIGHTS.email,
        note: `${ea.local === eb.local ? 'same local part' : 'similar local part'}, ${sameDomain ? 'same domain' : 'different domain'}`,
      });
    }
  }

  if (fields.length < MIN_FIELDS) return null;
  const total = fields.reduce((n, f) => n + f.weight, 0);
  let score = fields.reduce((n, f) => n + f.weight * f.similarity, 0) / total;
  let cap: string | undefined;
  const names = fields.filter((f) => f.field === 'firstName' || f.field === 'lastName');
  if (names.length) {
    const nameSim =
      names.reduce((n, f) => n + f.similarity * f.weight, 0) / names.reduce((n, f) => n + f.weight, 0);
    if (nameSim < NAME_DISAGREEMENT && score > NAME_CAP) {
      score = NAME_CAP;
      cap = `names disagree (${round(nameSim)}): capped at ${NAME_CAP}`;
    }
  }
  return { score: round(score), fields, ...(cap ? { cap } : {}) };
}
