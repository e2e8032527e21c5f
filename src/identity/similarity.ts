// Fuzzy duplicate scoring: a weighted average of per-field similarities (Jaro-Winkler from talisman for names,
// company and email local part; exact digits for phones; equal cities) over the fields both customers have, with an
// explanation per field, and caps where the evidence does not allow an automatic merge (names that disagree,
// different countries, nothing but the name agreeing). Pure; explanations carry similarities and notes, never the
// personal values themselves.
import jaroWinkler from 'talisman/metrics/jaro-winkler';
import type { CustomerFields } from '../canonical/customer.model';
import { normalizeEmailForMatching, EmailRule } from './email-normalization';

export interface FieldExplanation {
  field: 'firstName' | 'lastName' | 'company' | 'phone' | 'email' | 'city';
  similarity: number;
  weight: number;
  note: string;
  /**
   * Set on a field that counts as evidence besides the name (the same number, the same address or numbered handle,
   * the same company); without one a pair is capped below the review floor.
   */
  corroborates?: true;
}

export interface MatchScore {
  score: number;
  fields: FieldExplanation[];
  /** Why the score was capped, when it was. */
  cap?: string;
}

export const FIELD_WEIGHTS = {
  firstName: 1,
  lastName: 1.5,
  company: 1,
  phone: 2,
  email: 2,
  city: 1,
} as const;
/** Fewer comparable fields than this and the pair is not scored: two fields can agree by accident. */
const MIN_FIELDS = 2;
/** Two different names with a shared phone or mailbox are usually colleagues or a household, not one person. */
const NAME_DISAGREEMENT = 0.75;
const NAME_CAP = 0.7;
/**
 * Agreeing names, alone or with a mailbox made of those names at another provider ("lei.li@hotmail.com" and
 * "lei.li@proton.me") or the same city, are what namesakes share: on the sandbox's 30,000 seeded people, 5 of 3,280
 * such pairs scoring above the review floor were one person (bench/scoring-eval.ts). So something the name does not
 * give has to agree too (a field marked `corroborates`) for a merge or a review; without it a pair is capped below
 * the default review floor (0.75), where it is not kept as a candidate.
 */
const UNCORROBORATED_CAP = 0.7;
/** A local part carrying a number of two digits or more (a year, a counter): a handle, not just a name. */
const HANDLE_NUMBER = /\d{2}/;
/**
 * Company names that say nothing about an employer: two people "self employed" share no company, and neither do
 * two imported with a placeholder. Left out of matching, as a missing company is.
 */
const COMPANY_PLACEHOLDERS = new Set([
  'self employed',
  'selfemployed',
  'freelance',
  'freelancer',
  'n a',
  'na',
  'none',
  'not provided',
  'unknown',
  'retired',
  'student',
  'private',
  'individual',
]);
/**
 * Both customers have a country and they differ: a person in two countries is rare, two namesakes are not. A pair
 * corroborated otherwise (the same number, say) goes to review: someone may have moved.
 */
const COUNTRY_CAP = 0.8;
/**
 * Canonical fields holding a phone number a person can be matched by: the standard one and the mobile number our
 * mappings keep as `custom.mobilePhone` (a CRM record holds one or the other, or both).
 */
export const PHONE_FIELDS = ['phone', 'custom.mobilePhone'] as const;
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
  /** Per PHONE_FIELDS, in its order: the number's last 9 digits (see phoneDigits), '' when there is none. */
  phones: string[];
  email: { local: string; domain: string } | null;
  city: string;
  /** ISO 3166-1 alpha-2, as the canonical model keeps it. */
  country: string;
}

/**
 * The canonical fields a match profile is built from, and so everything scoring and blocking can see. A change
 * that touches none of them leaves the customer's block keys and every score it takes part in as they were.
 */
export const MATCH_FIELDS: ReadonlySet<string> = new Set([
  'firstName',
  'lastName',
  'company',
  ...PHONE_FIELDS,
  'email',
  'city',
  'country',
]);

/**
 * Last names that say the source had none: CRMs require one (Salesforce's LastName), so imports fill it with a
 * placeholder or the first name again ("Andrea Andrea" next to "Andrea Greco"). Compared as names they made one
 * person's two records "disagree"; such a last name is left out of matching, as a missing one is.
 */
const LAST_NAME_PLACEHOLDERS = new Set(['notprovided', 'unknown', 'na', 'none', 'lastname', 'noname']);

export function matchProfile(f: CustomerFields): MatchProfile {
  const firstName = normalizeName(f.firstName);
  const lastName = normalizeName(f.lastName);
  const company = normalizeCompany(f.company);
  return {
    firstName,
    lastName: lastName === firstName || LAST_NAME_PLACEHOLDERS.has(lastName) ? '' : lastName,
    company: COMPANY_PLACEHOLDERS.has(company) ? '' : company,
    phones: PHONE_FIELDS.map((field) => phoneDigits(f[field])),
    email: emailParts(f.email),
    city: normalizeName(f.city),
    country: typeof f.country === 'string' ? f.country.toUpperCase() : '',
  };
}

/**
 * Two numbers are one when their last 9 digits are, or, when one of them has fewer than 9 digits (an area code left
 * out), their last 7. Two full numbers sharing their last 7 digits are two numbers (416 555 0123, 212 555 0123).
 */
function samePhone(a: string, b: string): boolean {
  return a === b || (Math.min(a.length, b.length) < 9 && a.slice(-7) === b.slice(-7));
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
      // Only the same company corroborates: similar names are often two firms ("deutsche bank", "deutsche bahn").
      ...(field === 'company' && x === y ? { corroborates: true as const } : {}),
    });
  };
  text('firstName');
  text('lastName');
  text('company');

  // Any number of one against any of the other's; different numbers count against a pair only when both have one
  // in the same field (an office number and a mobile are not evidence of two people).
  let samePair: [number, number] | undefined;
  for (let i = 0; i < PHONE_FIELDS.length && !samePair; i++)
    for (let j = 0; j < PHONE_FIELDS.length && !samePair; j++)
      if (a.phones[i] && b.phones[j] && samePhone(a.phones[i], b.phones[j])) samePair = [i, j];
  if (samePair) {
    const [i, j] = samePair;
    fields.push({
      field: 'phone',
      similarity: 1,
      weight: FIELD_WEIGHTS.phone,
      note: i === 0 && j === 0 ? 'same number' : `same number (${PHONE_FIELDS[i]} and ${PHONE_FIELDS[j]})`,
      corroborates: true,
    });
  } else if (PHONE_FIELDS.some((_, i) => a.phones[i] && b.phones[i])) {
    fields.push({ field: 'phone', similarity: 0, weight: FIELD_WEIGHTS.phone, note: 'different numbers' });
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
        corroborates: true,
      });
    } else {
      const local = ea.local === eb.local ? 1 : jaroWinkler(ea.local, eb.local);
      // A different domain halves the evidence of a similar local part (work vs personal mailbox of one person).
      const sameDomain = ea.domain === eb.domain;
      const s = sameDomain ? local : local * 0.85;
      // One handle with its number at two providers ("mma1991") is a person reusing it; a handle made of the
      // name alone ("lei.li") is what namesakes get.
      const handle = ea.local === eb.local && HANDLE_NUMBER.test(ea.local);
      fields.push({
        field: 'email',
        similarity: round(s),
        weight: FIELD_WEIGHTS.email,
        note: `${ea.local === eb.local ? 'same local part' : 'similar local part'}${handle ? ' with its number' : ''}, ${sameDomain ? 'same domain' : 'different domain'}`,
        ...(handle ? { corroborates: true } : {}),
      });
    }
  }

  // Two fields besides the city: a phone and a city alone, say, are not a person.
  if (fields.length < MIN_FIELDS) return null;
  if (a.city && b.city) {
    const same = a.city === b.city;
    fields.push({
      field: 'city',
      similarity: same ? 1 : 0,
      weight: FIELD_WEIGHTS.city,
      note: same ? 'same city' : 'different cities',
    });
  }

  const total = fields.reduce((n, f) => n + f.weight, 0);
  let score = fields.reduce((n, f) => n + f.weight * f.similarity, 0) / total;
  let cap: string | undefined;
  const capAt = (limit: number, why: string) => {
    if (score <= limit) return;
    score = limit;
    cap = `${why}: capped at ${limit}`;
  };
  const names = fields.filter((f) => f.field === 'firstName' || f.field === 'lastName');
  if (names.length) {
    const nameSim =
      names.reduce((n, f) => n + f.similarity * f.weight, 0) / names.reduce((n, f) => n + f.weight, 0);
    if (nameSim < NAME_DISAGREEMENT) capAt(NAME_CAP, `names disagree (${round(nameSim)})`);
  }
  if (!fields.some((f) => f.corroborates)) capAt(UNCORROBORATED_CAP, 'nothing but the name agrees');
  if (a.country && b.country && a.country !== b.country) capAt(COUNTRY_CAP, 'different countries');
  return { score: round(score), fields, ...(cap ? { cap } : {}) };
}
