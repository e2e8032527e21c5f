// Deterministic, realistic and deliberately messy people for seeding every vendor sandbox. Person i depends only
// on (seed, i), so any sandbox seeded with the same seed holds the same people (cross-source duplicates) and
// seeding 100k is fast and flat in memory. `personKey` and `messy` are ground truth for matching tests; they
// must never leak into what a sandbox serves as vendor data.
import {
  COMPANY_ROOTS,
  COMPANY_SECTORS,
  COUNTRIES,
  CULTURES,
  LEAD_SOURCES,
  LIFECYCLE_STAGES,
  LIFECYCLE_WEIGHTS,
  NICKNAMES,
  TITLES,
  type CityData,
  type CountryData,
} from './people.data';
import { createRng, deriveSeed, pickWeighted, type Rng } from './rng';

export interface SeedPerson {
  /** Same real person => same key (duplicates share it). */
  personKey: string;
  firstName?: string;
  lastName?: string;
  /** Sometimes MiXed-case, padded or invalid. */
  email?: string;
  /** E.164, international or national format; sometimes invalid. */
  phone?: string;
  company?: string;
  title?: string;
  city?: string;
  /** ISO 3166-1 alpha-2; sometimes a name, lower-case or missing. */
  country?: string;
  leadSource?: string;
  lifecycleStage?: string;
  optedOut: boolean;
  /** Decimal string, e.g. "1234.50". */
  totalSpent?: string;
  orderCount?: number;
  timezone?: string;
  locale?: string;
  /** Which imperfections were applied, e.g. "email-mixed-case", "duplicate:nickname". */
  messy: string[];
  /** Position in the generated stream (stable for a seed). */
  index: number;
  /** For a duplicate: index of the original person it copies (always earlier). */
  duplicateOf?: number;
}

/** Probabilities of each imperfection, per person. Exported so tests can check the observed rates. */
export const MESSINESS = {
  duplicate: 0.05,
  emailInvalid: 0.02,
  emailMissing: 0.03,
  emailMixedCase: 0.08,
  emailPadded: 0.04,
  phoneInvalid: 0.03,
  phoneMissing: 0.15,
  firstNameMissing: 0.015,
  lastNameMissing: 0.02,
  nameCase: 0.03,
  namePadded: 0.02,
  titleMissing: 0.1,
  cityMissing: 0.05,
  cityCase: 0.02,
  countryMissing: 0.04,
  countryName: 0.06,
  countryLowercase: 0.015,
  leadSourceMissing: 0.1,
  timezoneMissing: 0.1,
  localeMissing: 0.1,
} as const;

/** People without a company (consumers) get a free-mail address and no title. */
const CONSUMER_RATE = 0.12;
const WORK_EMAIL_RATE = 0.7;
const FOREIGN_CULTURE_RATE = 0.1;
const OPTED_OUT_RATE = 0.07;
/** Keeps the identity stream independent from the per-record stream of the same index. */
const IDENTITY_SALT = 0x51ed270b;

const COUNTRY_WEIGHTS = COUNTRIES.map((c) => c.weight);
const CULTURE_KEYS = Object.keys(CULTURES);

/** `count` people for `seed`; person i is identical whatever the count. */
export function generatePeople(count: number, seed = 1): SeedPerson[] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const people = new Array<SeedPerson>(count);
  for (let i = 0; i < count; i++) people[i] = generatePerson(i, seed);
  return people;
}

/** Person `index` of the stream for `seed`, without generating the others. */
export function generatePerson(index: number, seed = 1): SeedPerson {
  const r = createRng(deriveSeed(seed, index));
  const target = duplicateDraw(r, index);
  if (target === undefined) return render(identity(seed, index), r, new Set(), index, seed, undefined);
  const original = rootOf(seed, target);
  const id = identity(seed, original);
  const variations = applyDuplicateVariations(id, r);
  return render(id, r, variations, index, seed, original);
}

/** The personKey of person `index`: its own, or its original's when it is a duplicate. */
export function personKeyOf(index: number, seed = 1): string {
  return personKey(seed, rootOf(seed, index));
}

function personKey(seed: number, rootIndex: number): string {
  return `psn-${seed}-${rootIndex}`;
}

// These are the first draws of a person's rng, so a duplicate's target can be found without rendering it.
function duplicateDraw(r: Rng, index: number): number | undefined {
  const isDuplicate = r.chance(MESSINESS.duplicate);
  const target = r.next();
  return index > 0 && isDuplicate ? Math.floor(target * index) : undefined;
}

/** Follows duplicate links down to the original (each step goes strictly earlier, so it ends). */
function rootOf(seed: number, index: number): number {
  let current = index;
  for (;;) {
    const next = duplicateDraw(createRng(deriveSeed(seed, current)), current);
    if (next === undefined) return current;
    current = next;
  }
}

/** Who the person is, before any record-level imperfection. */
interface Identity {
  country: CountryData;
  city: CityData;
  firstName: string;
  lastName: string;
  emailLocal: string;
  workDomain?: string;
  freeDomain: string;
  useWork: boolean;
  company?: string;
  title?: string;
  nsn: string;
  leadSource: string;
  lifecycleStage: string;
  optedOut: boolean;
  totalSpent?: string;
  orderCount?: number;
  locale: string;
}

function identity(seed: number, index: number): Identity {
  const r = createRng(deriveSeed(seed ^ IDENTITY_SALT, index));
  const country = pickWeighted(r, COUNTRIES, COUNTRY_WEIGHTS);
  const city = r.pick(country.cities);
  const cultureKey = r.chance(FOREIGN_CULTURE_RATE) ? r.pick(CULTURE_KEYS) : r.pick(country.cultures);
  const culture = CULTURES[cultureKey];
  const firstName = r.pick(culture.first);
  const lastName = r.pick(culture.last);

  const consumer = r.chance(CONSUMER_RATE);
  const { company, domain } = makeCompany(r, country, culture.last);
  const title = r.pick(TITLES);
  const freeDomain = r.pick(country.freemail);
  const useWork = !consumer && r.chance(WORK_EMAIL_RATE);
  const emailLocal = makeEmailLocal(r, firstName, lastName, !useWork);
  const nsn = makeNsn(r, country, city);

  const lifecycleStage = pickWeighted(r, LIFECYCLE_STAGES, LIFECYCLE_WEIGHTS);
  const spend = makeSpend(r, lifecycleStage);
  return {
    country,
    city,
    firstName,
    lastName,
    emailLocal,
    workDomain: consumer ? undefined : domain,
    freeDomain,
    useWork,
    company: consumer ? undefined : company,
    title: consumer ? undefined : title,
    nsn,
    leadSource: r.pick(LEAD_SOURCES),
    lifecycleStage,
    optedOut: r.chance(OPTED_OUT_RATE),
    ...spend,
    locale: city.locale ?? r.pick(country.locales),
  };
}

function makeCompany(r: Rng, country: CountryData, lastNames: string[]): { company: string; domain: string } {
  const root = r.pick(COMPANY_ROOTS);
  const sector = r.pick(COMPANY_SECTORS);
  const suffix = r.pick(country.companySuffixes);
  const style = r.next();
  const tld = r.chance(0.4) ? 'com' : country.tld;
  if (style < 0.5) {
    const name = r.chance(0.6) ? `${root} ${sector} ${suffix}` : `${root} ${sector}`;
    const domain = r.chance(0.5) ? `${slug(root)}${slug(sector)}` : `${slug(root)}-${slug(sector)}`;
    return { company: name, domain: `${domain}.${tld}` };
  }
  if (style < 0.8) return { company: `${root} ${suffix}`, domain: `${slug(root)}.${tld}` };
  // Partnerships named after people, as law and accounting firms are.
  const a = r.pick(lastNames);
  const b = r.pick(lastNames);
  return a === b
    ? { company: `${a} & Partners ${suffix}`, domain: `${slug(a)}partners.${tld}` }
    : { company: `${a} & ${b} ${suffix}`, domain: `${slug(a)}-${slug(b)}.${tld}` };
}

function makeEmailLocal(r: Rng, first: string, last: string, personal: boolean): string {
  const f = slug(first) || 'info';
  const l = slug(last) || 'contact';
  const base = EMAIL_PATTERNS[r.int(0, EMAIL_PATTERNS.length - 1)](f, l);
  // Free-mail addresses are often taken already, hence the digits.
  return personal && r.chance(0.6) ? `${base}${r.chance(0.5) ? r.int(1, 99) : r.int(1960, 2005)}` : base;
}

const EMAIL_PATTERNS: Array<(f: string, l: string) => string> = [
  (f, l) => `${f}.${l}`,
  (f, l) => `${f[0]}${l}`,
  (f, l) => `${f}${l[0]}`,
  (f, l) => `${f}_${l}`,
  (f) => f,
  (f, l) => `${l}.${f}`,
  (f, l) => `${f}.${l[0]}`,
  (f, l) => `${f}-${l}`,
];

function makeNsn(r: Rng, country: CountryData, city: CityData): string {
  let nsn = city.areas ? r.pick(city.areas) : r.pick(country.mobile);
  if (country.next) nsn += country.next[r.int(0, country.next.length - 1)];
  while (nsn.length < country.nsnLength) nsn += String(r.int(0, 9));
  return nsn;
}

function makeSpend(r: Rng, stage: string): { totalSpent?: string; orderCount?: number } {
  const buyer = stage === 'customer' || stage === 'evangelist' || (stage === 'opportunity' && r.chance(0.2));
  if (!buyer) return r.chance(0.25) ? { totalSpent: '0.00', orderCount: 0 } : {};
  const orderCount = r.int(1, 6) * r.int(1, 6);
  const cents = orderCount * r.int(1500, 45000) + r.int(0, 99);
  return { totalSpent: centsToDecimal(cents), orderCount };
}

const DUPLICATE_VARIATIONS = [
  'typo',
  'nickname',
  'name-case',
  'email-case',
  'email-domain',
  'email-padded',
] as const;
type DuplicateVariation = (typeof DUPLICATE_VARIATIONS)[number];

/** Changes the copied identity the way a second record of the same person tends to differ; returns what changed. */
function applyDuplicateVariations(id: Identity, r: Rng): Set<DuplicateVariation> {
  const applied = new Set<DuplicateVariation>();
  const wanted = r.int(1, 2);
  for (let tries = 0; applied.size < wanted && tries < 8; tries++) {
    const v = r.pick(DUPLICATE_VARIATIONS);
    if (applied.has(v)) continue;
    if (v === 'nickname') {
      const nicks = NICKNAMES[id.firstName];
      if (!nicks) continue;
      id.firstName = r.pick(nicks);
    } else if (v === 'typo') {
      if (r.chance(0.65)) id.lastName = typo(r, id.lastName);
      else id.firstName = typo(r, id.firstName);
    } else if (v === 'email-domain') {
      if (id.useWork) id.useWork = false;
      else if (id.workDomain && r.chance(0.5)) id.useWork = true;
      else {
        const others = id.country.freemail.filter((d) => d !== id.freeDomain);
        id.freeDomain = r.pick(others);
      }
    }
    applied.add(v);
  }
  return applied;
}

/** One keyboard slip: swapped, dropped, doubled or replaced letter. Always changes the string. */
function typo(r: Rng, s: string): string {
  if (s.length < 3) return s + s[s.length - 1];
  const i = r.int(1, s.length - 2);
  const kind = r.int(0, 3);
  let out: string;
  if (kind === 0) out = s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
  else if (kind === 1) out = s.slice(0, i) + s.slice(i + 1);
  else if (kind === 2) out = s.slice(0, i) + s[i] + s.slice(i);
  else out = s.slice(0, i) + (s[i] === 'e' ? 'a' : 'e') + s.slice(i + 1);
  return out === s ? s.slice(0, i) + s.slice(i + 1) : out;
}

/** Turns an identity into a record, applying record-level imperfections; `forced` are a duplicate's variations. */
function render(
  id: Identity,
  r: Rng,
  forced: Set<DuplicateVariation>,
  index: number,
  seed: number,
  duplicateOf: number | undefined,
): SeedPerson {
  const messy: string[] = [];
  const p: SeedPerson = {
    personKey: personKey(seed, duplicateOf ?? index),
    optedOut: id.optedOut,
    messy,
    index,
  };
  if (duplicateOf !== undefined) {
    p.duplicateOf = duplicateOf;
    messy.push('duplicate', ...[...forced].map((v) => `duplicate:${v}`));
  }

  // Names
  let first: string | undefined = id.firstName;
  let last: string | undefined = id.lastName;
  if (r.chance(MESSINESS.firstNameMissing)) {
    first = undefined;
    messy.push('first-name-missing');
  }
  if (r.chance(MESSINESS.lastNameMissing)) {
    last = undefined;
    messy.push('last-name-missing');
  }
  const nameCase = r.chance(MESSINESS.nameCase) || forced.has('name-case');
  const upper = r.chance(0.5);
  if (nameCase) {
    const change = (s?: string): string | undefined => (s && upper ? s.toUpperCase() : s?.toLowerCase());
    first = change(first);
    last = change(last);
    messy.push('name-case');
  }
  if (r.chance(MESSINESS.namePadded) && first) {
    first = `${first} `;
    messy.push('name-padded');
  }
  p.firstName = first;
  p.lastName = last;

  // Email
  const emailMissing = r.chance(MESSINESS.emailMissing);
  const emailInvalid = r.chance(MESSINESS.emailInvalid);
  const mixedCase = r.chance(MESSINESS.emailMixedCase) || forced.has('email-case');
  const padded = r.chance(MESSINESS.emailPadded) || forced.has('email-padded');
  const invalidKind = r.int(0, 6);
  const caseKind = r.int(0, 3);
  const padKind = r.int(0, 3);
  if (emailMissing) {
    messy.push('email-missing');
  } else {
    const domain = id.useWork && id.workDomain ? id.workDomain : id.freeDomain;
    let email = `${id.emailLocal}@${domain}`;
    if (emailInvalid) {
      email = invalidEmail(id.emailLocal, domain, invalidKind);
      messy.push('email-invalid');
    }
    if (mixedCase) {
      email = caseKind === 0 ? email.toUpperCase() : capitalizeParts(email);
      messy.push('email-mixed-case');
    }
    if (padded) {
      email = [` ${email}`, `${email} `, `  ${email}  `, `\t${email}`][padKind];
      messy.push('email-padded');
    }
    p.email = email;
  }

  // Phone
  const phoneMissing = r.chance(MESSINESS.phoneMissing);
  const phoneInvalid = r.chance(MESSINESS.phoneInvalid);
  const style = r.int(0, 9);
  const badKind = r.int(0, 5);
  if (phoneMissing) messy.push('phone-missing');
  else if (phoneInvalid) {
    p.phone = invalidPhone(id.country, id.nsn, badKind);
    messy.push('phone-invalid');
  } else {
    // National format is only meaningful with the country, so matching code must treat it with care.
    const format = style < 4 ? 'e164' : style < 7 ? 'international' : 'national';
    p.phone = formatPhone(id.country, id.nsn, format);
    if (format === 'national') messy.push('phone-national');
  }

  // Work
  p.company = id.company;
  if (id.title && r.chance(MESSINESS.titleMissing)) messy.push('title-missing');
  else p.title = id.title;

  // Place
  const cityMissing = r.chance(MESSINESS.cityMissing);
  const cityCase = r.chance(MESSINESS.cityCase);
  if (cityMissing) messy.push('city-missing');
  else if (cityCase) {
    p.city = id.city.name.toLowerCase();
    messy.push('city-case');
  } else p.city = id.city.name;

  const countryRoll = r.next();
  const countryName = r.pick(id.country.names);
  if (countryRoll < MESSINESS.countryMissing) messy.push('country-missing');
  else if (countryRoll < MESSINESS.countryMissing + MESSINESS.countryName) {
    p.country = countryName;
    messy.push('country-name');
  } else if (countryRoll < MESSINESS.countryMissing + MESSINESS.countryName + MESSINESS.countryLowercase) {
    p.country = id.country.code.toLowerCase();
    messy.push('country-lowercase');
  } else p.country = id.country.code;

  // Marketing
  if (r.chance(MESSINESS.leadSourceMissing)) messy.push('lead-source-missing');
  else p.leadSource = id.leadSource;
  p.lifecycleStage = id.lifecycleStage;
  if (id.totalSpent !== undefined) p.totalSpent = id.totalSpent;
  if (id.orderCount !== undefined) p.orderCount = id.orderCount;
  if (r.chance(MESSINESS.timezoneMissing)) messy.push('timezone-missing');
  else p.timezone = id.city.tz;
  if (r.chance(MESSINESS.localeMissing)) messy.push('locale-missing');
  else p.locale = id.locale;
  return p;
}

function invalidEmail(local: string, domain: string, kind: number): string {
  const host = domain.split('.')[0];
  switch (kind) {
    case 0:
      return `${local}${domain}`; // @ forgotten
    case 1:
      return `${local}@${host}`; // no TLD
    case 2:
      // space inside the local part
      return `${/[._-]/.test(local) ? local.replace(/[._-]/, ' ') : `${local[0]} ${local.slice(1)}`}@${domain}`;
    case 3:
      return `${local}@@${domain}`;
    case 4:
      return `${local}..x@${domain}`;
    case 5:
      return `@${domain}`;
    default:
      return `${local}@${domain.replace(/\.([^.]*)$/, ',$1')}`; // comma for dot
  }
}

function invalidPhone(country: CountryData, nsn: string, kind: number): string {
  switch (kind) {
    case 0:
      return `+${country.dial} ${nsn.slice(0, 4)}`; // too short
    case 1:
      return `+${country.dial}${nsn}${nsn.slice(-3)}`; // too long
    case 2:
      return 'n/a';
    case 3:
      return '000-000-0000';
    case 4:
      return `${nsn.slice(0, 3)}-CALL-NOW`;
    default:
      return '12345';
  }
}

export type PhoneFormat = 'e164' | 'international' | 'national';

export function formatPhone(country: CountryData, nsn: string, format: PhoneFormat): string {
  if (format === 'e164') return `+${country.dial}${nsn}`;
  if (format === 'national' && country.dial === '1')
    return `(${nsn.slice(0, 3)}) ${nsn.slice(3, 6)}-${nsn.slice(6)}`;
  if (format === 'national' && country.code === 'BR')
    return `(${nsn.slice(0, 2)}) ${nsn.slice(2, 7)}-${nsn.slice(7)}`;
  const sep = format === 'national' && (country.code === 'JP' || country.code === 'KR') ? '-' : ' ';
  const grouped = groupDigits(nsn, country.groups).join(sep);
  return format === 'international' ? `+${country.dial} ${grouped}` : `${country.trunk}${grouped}`;
}

function groupDigits(nsn: string, groups: number[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (let g = 0; g < groups.length && at < nsn.length; g++) {
    const size = g === groups.length - 1 ? nsn.length - at : groups[g];
    out.push(nsn.slice(at, at + size));
    at += size;
  }
  return out;
}

const FOLD: Record<string, string> = {
  ł: 'l',
  Ł: 'L',
  ø: 'o',
  Ø: 'O',
  ß: 'ss',
  ı: 'i',
  đ: 'd',
  Đ: 'D',
  æ: 'ae',
  œ: 'oe',
};

/** Lower-case ASCII letters and digits only, diacritics folded (Müller -> muller, Łukasz -> lukasz). */
function slug(s: string): string {
  // Inputs come from small fixed lists (plus typos), so caching makes seeding 100k people cheap.
  let out = slugCache.get(s);
  if (out === undefined) {
    out = slugUncached(s);
    if (slugCache.size < 10_000) slugCache.set(s, out);
  }
  return out;
}

const slugCache = new Map<string, string>();

function slugUncached(s: string): string {
  return s
    .replace(/[łŁøØßıđĐæœ]/g, (c) => FOLD[c])
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

function capitalizeParts(email: string): string {
  return email.replace(/(^|[.@_\s-])([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

function centsToDecimal(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
