/**
 * Deterministic seeding from the kit's generatePeople: Contacts (the same people every sandbox gets for a
 * seed) and some Leads, with Salesforce-like history — created over two years, a past admin mass update that
 * left many records on ONE SystemModstamp, automated touches that moved SystemModstamp but not
 * LastModifiedDate, and a few records in the recycle bin.
 */
import { createRng } from '../../../src/sandbox/rng';
import { generatePeople, type SeedPerson } from '../../../src/sandbox/people';
import { SalesforceStore, toSecond } from './salesforce-store';
import { SLOT_ID, SObjectName, Value } from './salesforce-schema';

const DAY = 86_400_000;
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];

export interface SeedOptions {
  count: number;
  seed: number;
  /** Leads besides the contacts; default a tenth of count. */
  leadCount?: number;
}

export function seedStore(store: SalesforceStore, opts: SeedOptions): void {
  const now = toSecond(store.clock.now());
  const contacts = generatePeople(opts.count, opts.seed);
  seedObject(store, 'Contact', contacts, opts.seed, now);
  const leadCount = opts.leadCount ?? Math.floor(opts.count / 10);
  // Leads are other people than the contacts: a derived seed keeps them apart but reproducible
  if (leadCount > 0)
    seedObject(store, 'Lead', generatePeople(leadCount, opts.seed + 7919), opts.seed + 1, now);
}

function seedObject(
  store: SalesforceStore,
  object: SObjectName,
  people: SeedPerson[],
  seed: number,
  now: number,
): void {
  const rng = createRng(seed * 31 + (object === 'Lead' ? 17 : 3));
  const massUpdateAt = toSecond(now - 10 * DAY);
  const automationAt = toSecond(now - 3 * DAY);
  for (const p of people) {
    const created = toSecond(now - rng.int(20, 730) * DAY + rng.int(0, DAY - 1));
    let modified = toSecond(created + rng.next() * Math.max(0, now - 12 * DAY - created));
    if (rng.chance(0.1) && created < massUpdateAt) modified = massUpdateAt;
    const systemModstamp = rng.chance(0.05) ? automationAt : modified;
    const hasMobile = rng.chance(0.3);
    const values: Record<string, Value> = {
      FirstName: p.firstName ?? null,
      // LastName is required in Salesforce; imports fill it with a placeholder when the source had none
      LastName: p.lastName ?? p.firstName ?? '[not provided]',
      Email: p.email ?? null,
      Phone: hasMobile ? null : (p.phone ?? null),
      MobilePhone: hasMobile ? (p.phone ?? null) : null,
      Title: p.title ?? null,
      LeadSource: p.leadSource ?? rng.pick(LEAD_SOURCES),
      HasOptedOutOfEmail: p.optedOut,
      Description: p.messy.length ? `Imported; needs review (${p.messy.join(', ')})` : null,
    };
    if (object === 'Contact') {
      values.AccountId = p.company ? store.accountFor(p.company) : null;
      values.MailingCity = p.city ?? null;
      values.MailingCountry = p.country ?? null;
    } else {
      values.Company = p.company ?? '[not provided]';
      values.City = p.city ?? null;
      values.Country = p.country ?? null;
    }
    const row = store.seedRow(object, values, created, modified, systemModstamp);
    if (rng.chance(0.01)) {
      const deletedAt = toSecond(now - rng.int(1, 10) * DAY);
      store.seedDelete(object, row[SLOT_ID] as string, Math.max(deletedAt, systemModstamp));
    }
  }
}
