// In-memory state of the SendGrid Marketing sandbox: contacts, field definitions, lists and async jobs.
// Knows SendGrid's data rules (lower-cased emails, identifier matching, field types) but nothing about HTTP.
import { randomUUID } from 'node:crypto';
import { SearchIndexLag } from '../../../src/sandbox';
import { comparePoints, type KeyBound, type KeyPoint, type SgqlPlan } from './sgql';

export const RESERVED_FIELDS: Array<{
  id: string;
  name: string;
  field_type: FieldType;
  read_only?: boolean;
}> = [
  ['first_name', 'T'],
  ['last_name', 'T'],
  ['email', 'T'],
  ['alternate_emails', 'T'],
  ['address_line_1', 'T'],
  ['address_line_2', 'T'],
  ['city', 'T'],
  ['state_province_region', 'T'],
  ['postal_code', 'T'],
  ['country', 'T'],
  ['phone_number', 'T'],
  ['whatsapp', 'T'],
  ['line', 'T'],
  ['facebook', 'T'],
  ['unique_name', 'T'],
  ['email_domains', 'T', true],
  ['last_clicked', 'D', true],
  ['last_opened', 'D', true],
  ['last_emailed', 'D', true],
  ['singlesend_id', 'T', true],
  ['automation_id', 'T', true],
  ['created_at', 'D', true],
  ['updated_at', 'D', true],
  ['contact_id', 'T', true],
].map(([name, t, ro], i) => ({
  id: `_rf${i}_${t as string}`,
  name: name as string,
  field_type: (t === 'D' ? 'Date' : 'Text') as FieldType,
  ...(ro ? { read_only: true } : {}),
}));

export type FieldType = 'Text' | 'Number' | 'Date';
export interface CustomField {
  id: string;
  name: string;
  field_type: FieldType;
}

/** Text fields a contact may carry; undefined ones are not stored, which keeps 100k contacts small. */
export const CONTACT_TEXT_FIELDS = [
  'email',
  'phone_number_id',
  'external_id',
  'anonymous_id',
  'first_name',
  'last_name',
  'unique_name',
  'address_line_1',
  'address_line_2',
  'city',
  'state_province_region',
  'country',
  'postal_code',
  'phone_number',
  'whatsapp',
  'line',
  'facebook',
] as const;
export type ContactTextField = (typeof CONTACT_TEXT_FIELDS)[number];
export const IDENTIFIERS = ['email', 'phone_number_id', 'external_id', 'anonymous_id'] as const;
export type Identifier = (typeof IDENTIFIERS)[number];

export interface Contact {
  id: string;
  text: Partial<Record<ContactTextField, string>>;
  alternate_emails?: string[];
  list_ids: string[];
  custom?: Record<string, string | number>; // keyed by custom field id
  createdAt: number; // epoch ms
  updatedAt: number;
}

export interface ContactInput {
  [k: string]: unknown;
  custom_fields?: Record<string, unknown>;
  alternate_emails?: string[];
}

export interface RecordError {
  index: number;
  identifiers: Partial<Record<Identifier, string>>;
  message: string;
}

export interface Job {
  id: string;
  job_type: 'upsert' | 'delete';
  status: 'pending' | 'completed' | 'errored' | 'failed';
  startedAt: number;
  finishedAt?: number;
  requested: number;
  created: number;
  updated: number;
  deleted: number;
  errors: RecordError[];
}

export interface ListRecord {
  id: string;
  name: string;
}

const EMAIL_RE = /^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
const E164_RE = /^\+[1-9][0-9]{6,14}$/;
const EMPTY: string[] = [];
/** Past this many queued index changes a full re-sort is cheaper than splicing each one in. */
const MAX_PENDING_INDEX_CHANGES = 256;

/** Search order: (updated_at, id), the order keyset reads page in. */
export function byUpdatedThenId(a: Contact, b: Contact): number {
  return a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A contact's place in the search order, under the key it had when placed (contacts are edited in place). */
export interface OrderEntry {
  t: number;
  id: string;
  c: Contact;
}

function entryVsPoint(e: OrderEntry, p: KeyPoint): number {
  return comparePoints(e, p);
}

/** A copy of a contact as it is now, for the search index to keep while a later write waits. */
export function snapshot(c: Contact): Contact {
  return {
    ...c,
    text: { ...c.text },
    list_ids: [...c.list_ids],
    ...(c.alternate_emails ? { alternate_emails: [...c.alternate_emails] } : {}),
    ...(c.custom ? { custom: { ...c.custom } } : {}),
  };
}

export function isValidEmail(s: string): boolean {
  return s.length <= 254 && EMAIL_RE.test(s);
}

export class SendGridStore {
  contacts = new Map<string, Contact>();
  private byIdentifier: Record<Identifier, Map<string, string>> = {
    email: new Map(),
    phone_number_id: new Map(),
    external_id: new Map(),
    anonymous_id: new Map(),
  };
  customFields: CustomField[] = [];
  private nextFieldNo = 1;
  lists = new Map<string, ListRecord>();
  jobs = new Map<string, Job>();
  /**
   * Contacts sorted by (updatedAt, id) so keyset searches seek instead of scanning 100k contacts per page.
   * Kept lazily: changes queue up and are applied when a search asks; `undefined` means re-sort from scratch.
   * Every updatedAt change must go through removeContact/insert or upsertOne so the key stays findable.
   */
  private order: OrderEntry[] | undefined = [];
  private pendingIndex: Array<{ c: Contact; add: boolean; t: number }> = [];
  /** Monotonic clock so two writes never share a timestamp unless they are one mass update. */
  private lastStamp = 0;
  /** SendGrid's clock is the process's plus this; tests move it (never the process's) to age changes. */
  clockOffsetMs = 0;
  /**
   * Search indexing lag (SendGrid documents that new and updated contacts can take minutes to become searchable),
   * on SendGrid's clock. Reads by id or email are never behind.
   */
  private readonly searchIndex = new SearchIndexLag<string, Contact>(() => this.clock());
  get indexLagMs(): number {
    return this.searchIndex.lagMs;
  }
  set indexLagMs(ms: number) {
    this.searchIndex.lagMs = ms;
  }
  /**
   * Which matches a search answers when there are more than it returns: SendGrid does not say, so the sandbox
   * answers the oldest in (updated_at, contact_id) order by default, or the newest (newest first) when a test asks.
   */
  searchPicks: 'oldest' | 'newest' = 'oldest';

  /** SendGrid's clock: what updated_at/created_at and the answers' Date header come from. */
  clock(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** A write's timestamp on SendGrid's clock, never going backwards. */
  now(): number {
    const t = this.clock();
    this.lastStamp = t > this.lastStamp ? t : this.lastStamp + 1;
    return this.lastStamp;
  }

  clear(): void {
    this.contacts.clear();
    this.searchIndex.flush();
    this.order = [];
    this.pendingIndex = [];
    for (const m of Object.values(this.byIdentifier)) m.clear();
    this.customFields = [];
    this.nextFieldNo = 1;
    this.lists.clear();
    this.jobs.clear();
  }

  // ---- field definitions -------------------------------------------------------------------------------
  fieldById(id: string): CustomField | undefined {
    return this.customFields.find((f) => f.id === id);
  }
  fieldByName(name: string): CustomField | undefined {
    const n = name.toLowerCase();
    return this.customFields.find((f) => f.name.toLowerCase() === n);
  }
  createField(name: string, type: FieldType): CustomField {
    // SendGrid's ids carry the type as a suffix (e1_T, e2_N, e3_D).
    const f = { id: `e${this.nextFieldNo++}_${type[0]}`, name, field_type: type };
    this.customFields.push(f);
    return f;
  }
  deleteField(id: string): boolean {
    const i = this.customFields.findIndex((f) => f.id === id);
    if (i < 0) return false;
    this.customFields.splice(i, 1);
    for (const c of this.contacts.values()) if (c.custom && id in c.custom) delete c.custom[id];
    return true;
  }

  // ---- lists ---------------------------------------------------------------------------------------------
  listContactCount(listId: string): number {
    let n = 0;
    for (const c of this.contacts.values()) if (c.list_ids.includes(listId)) n++;
    return n;
  }
  deleteList(id: string, deleteContacts: boolean): void {
    this.lists.delete(id);
    for (const c of [...this.contacts.values()]) {
      if (!c.list_ids.includes(id)) continue;
      if (deleteContacts) this.removeContact(c);
      else c.list_ids = c.list_ids.filter((l) => l !== id);
    }
  }

  // ---- contacts ------------------------------------------------------------------------------------------
  findByIdentifier(kind: Identifier, value: string): Contact | undefined {
    const id = this.byIdentifier[kind].get(kind === 'email' ? value.toLowerCase() : value);
    return id ? this.contacts.get(id) : undefined;
  }

  insert(c: Contact): void {
    // Re-inserting a stored contact hides its old key from us, so the order is rebuilt instead.
    if (this.contacts.has(c.id)) this.order = undefined;
    this.contacts.set(c.id, c);
    this.indexChange(c, true);
    for (const k of IDENTIFIERS) if (c.text[k]) this.byIdentifier[k].set(c.text[k]!, c.id);
  }

  removeContact(c: Contact): void {
    if (this.contacts.delete(c.id)) this.indexChange(c, false);
    for (const k of IDENTIFIERS) if (c.text[k]) this.byIdentifier[k].delete(c.text[k]!);
  }

  private setIdentifier(c: Contact, k: Identifier, v: string): void {
    const old = c.text[k];
    if (old === v) return;
    if (old) this.byIdentifier[k].delete(old);
    c.text[k] = v;
    this.byIdentifier[k].set(v, c.id);
  }

  /** Checks one contact of an upsert; returns a per-record error message or undefined. */
  recordProblem(input: ContactInput): string | undefined {
    const email = typeof input.email === 'string' ? input.email.trim() : undefined;
    if (email !== undefined && email !== '' && !isValidEmail(email)) return 'email: invalid email address';
    if (typeof input.phone_number_id === 'string' && !E164_RE.test(input.phone_number_id))
      return 'phone_number_id: must be a valid E.164 phone number';
    for (const a of input.alternate_emails ?? [])
      if (!isValidEmail(a)) return `alternate_emails: invalid email address '${a}'`;
    for (const [id, v] of Object.entries(input.custom_fields ?? {})) {
      const f = this.fieldById(id);
      if (!f) return `custom_fields.${id}: custom field ID not found`;
      if (f.field_type === 'Number' && (v === '' || Number.isNaN(Number(v))))
        return `custom_fields.${id}: value must be a number`;
      if (f.field_type === 'Date' && Number.isNaN(Date.parse(String(v))))
        return `custom_fields.${id}: value must be a date`;
    }
    return undefined;
  }

  /** Applies one upsert record at job time (SendGrid makes contacts visible only when the job runs). */
  upsertOne(input: ContactInput, listIds: string[], stamp: number): 'created' | 'updated' | string {
    const problem = this.recordProblem(input);
    if (problem) return problem;
    const ids: Partial<Record<Identifier, string>> = {};
    for (const k of IDENTIFIERS) {
      const v = input[k];
      if (typeof v === 'string' && v.trim() !== '') ids[k] = k === 'email' ? v.trim().toLowerCase() : v;
    }
    const matches = new Set<Contact>();
    for (const k of IDENTIFIERS) {
      const found = ids[k] ? this.findByIdentifier(k, ids[k]!) : undefined;
      if (found) matches.add(found);
    }
    if (matches.size > 1) return 'identifiers match more than one existing contact';
    let c = [...matches][0];
    const created = !c;
    const before = c ? snapshot(c) : null;
    if (!c) {
      c = { id: randomUUID(), text: {}, list_ids: EMPTY, createdAt: stamp, updatedAt: stamp };
      this.contacts.set(c.id, c);
    } else this.indexChange(c, false); // unindexed under its old updatedAt, re-added below under the new one
    for (const k of IDENTIFIERS) if (ids[k]) this.setIdentifier(c, k, ids[k]!);
    for (const k of CONTACT_TEXT_FIELDS) {
      if ((IDENTIFIERS as readonly string[]).includes(k)) continue;
      const v = input[k];
      if (typeof v === 'string') {
        if (v === '') delete c.text[k];
        else c.text[k] = v;
      }
    }
    if (input.alternate_emails) c.alternate_emails = input.alternate_emails.map((e) => e.toLowerCase());
    for (const [id, v] of Object.entries(input.custom_fields ?? {})) {
      const f = this.fieldById(id)!;
      c.custom ??= {};
      if (v === '' || v === null) delete c.custom[id];
      else c.custom[id] = f.field_type === 'Number' ? Number(v) : String(v);
    }
    if (listIds.length) c.list_ids = [...new Set([...c.list_ids, ...listIds])];
    c.updatedAt = stamp;
    this.indexChange(c, true);
    this.lagIndex(c, before, stamp);
    return created ? 'created' : 'updated';
  }

  // ---- search indexing lag -----------------------------------------------------------------------------------
  /**
   * Keeps the version search saw before this write (`before`, null for a new contact) until the write is
   * indexed, `indexLagMs` after `at` on SendGrid's clock. Call it after the write, with a snapshot from before.
   */
  lagIndex(c: Contact, before: Contact | null, at: number): void {
    this.searchIndex.written(c.id, before, at);
  }

  /** The version of a contact search sees now: itself once its last write is indexed, else the one before. */
  searchView(c: Contact): Contact | null {
    return this.searchIndex.view(c.id, c);
  }

  /** Whether some write still waits for the search index (search answers then change with time alone). */
  get indexPending(): boolean {
    return this.searchIndex.pending((id) => this.contacts.has(id));
  }

  /** Indexes every pending write now. */
  flushIndex(): void {
    this.searchIndex.flush();
  }

  // ---- (updatedAt, id) order -------------------------------------------------------------------------------
  private indexChange(c: Contact, add: boolean): void {
    if (!this.order) return;
    // The key is captured now: a removal must find the contact under the updatedAt it was sorted by.
    this.pendingIndex.push({ c, add, t: c.updatedAt });
    if (this.pendingIndex.length > MAX_PENDING_INDEX_CHANGES) {
      this.order = undefined;
      this.pendingIndex = [];
    }
  }

  /** All contacts in (updatedAt, id) order. The array is the store's own: read it, never change it. */
  ordered(): readonly OrderEntry[] {
    if (this.order) {
      const order = this.order;
      // Entries carry their own keys, so applying the queued changes in sequence stays consistent even when a
      // contact changed several times since the last search.
      for (const { c, add, t } of this.pendingIndex) {
        const i = this.seek({ p: { t, id: c.id }, incl: true }, order);
        if (add) order.splice(i, 0, { t, id: c.id, c });
        else if (order[i]?.c === c && order[i].t === t) order.splice(i, 1);
        else {
          this.order = undefined; // a key changed behind the store's back; rebuild rather than guess
          break;
        }
      }
      this.pendingIndex = [];
    }
    this.order ??= [...this.contacts.values()]
      .sort(byUpdatedThenId)
      .map((c) => ({ t: c.updatedAt, id: c.id, c }));
    return this.order;
  }

  /**
   * The first `cap` matches in (updatedAt, id) order and the number of matches. The plan's range is found by
   * binary search; a plan that is exactly its range (a keyset page) is counted by subtraction, anything else is
   * checked only inside the range. A 100k-contact keyset read thus costs O(log n) per page, not a full scan.
   */
  search(plan: SgqlPlan, cap: number): { page: Contact[]; count: number } {
    if (this.indexPending) return this.searchLagging(plan, cap);
    const order = this.ordered();
    const { range } = plan;
    const start = range?.lo ? this.seek(range.lo, order) : 0;
    const end = Math.max(start, range?.hi ? this.seekEnd(range.hi, order) : order.length);
    const page: Contact[] = [];
    const newest = this.searchPicks === 'newest';
    if (plan.exact) {
      if (newest) for (let i = end - 1; i >= start && page.length < cap; i--) page.push(order[i].c);
      else for (let i = start; i < end && page.length < cap; i++) page.push(order[i].c);
      return { page, count: end - start };
    }
    let count = 0;
    const view = { c: undefined as unknown as Contact, get: (f: string) => this.sgqlValue(view.c, f) };
    for (let k = 0; k < end - start; k++) {
      view.c = order[newest ? end - 1 - k : start + k].c;
      if (!plan.predicate(view)) continue;
      count++;
      if (page.length < cap) page.push(view.c);
    }
    return { page, count };
  }

  /** Search while writes wait for the index: every contact as search sees it, checked one by one (tests only). */
  private searchLagging(plan: SgqlPlan, cap: number): { page: Contact[]; count: number } {
    const hits: Contact[] = [];
    const view = { c: undefined as unknown as Contact, get: (f: string) => this.sgqlValue(view.c, f) };
    for (const stored of this.contacts.values()) {
      const seen = this.searchView(stored);
      if (!seen) continue;
      view.c = seen;
      if (plan.predicate(view)) hits.push(seen);
    }
    hits.sort(byUpdatedThenId);
    if (this.searchPicks === 'newest') hits.reverse();
    return { page: hits.slice(0, cap), count: hits.length };
  }

  /** First position whose key is past `lower` (at or past it when inclusive); binary search. */
  seek(lower: KeyBound, order: readonly OrderEntry[] = this.ordered()): number {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = entryVsPoint(order[mid], lower.p);
      if (c < 0 || (c === 0 && !lower.incl)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose key is beyond `upper` (an exclusive end for a slice). */
  seekEnd(upper: KeyBound, order: readonly OrderEntry[] = this.ordered()): number {
    return this.seek({ p: upper.p, incl: !upper.incl }, order);
  }

  newJob(type: Job['job_type'], requested: number): Job {
    const job: Job = {
      id: randomUUID(),
      job_type: type,
      status: 'pending',
      startedAt: this.clock(),
      requested,
      created: 0,
      updated: 0,
      deleted: 0,
      errors: [],
    };
    this.jobs.set(job.id, job);
    return job;
  }

  finishJob(job: Job): void {
    job.finishedAt = this.clock();
    const errored = job.errors.length;
    job.status = errored === 0 ? 'completed' : errored >= job.requested ? 'failed' : 'errored';
  }

  /** Value of a field as SGQL sees it: timestamps as epoch ms, custom fields by name. */
  sgqlValue(c: Contact, field: string): unknown {
    switch (field) {
      case 'contact_id':
        return c.id;
      case 'created_at':
        return c.createdAt;
      case 'updated_at':
        return c.updatedAt;
      case 'list_ids':
        return c.list_ids;
      case 'alternate_emails':
        return c.alternate_emails ?? EMPTY;
      case 'email_domains':
        return c.text.email ? c.text.email.split('@')[1] : undefined;
    }
    if ((CONTACT_TEXT_FIELDS as readonly string[]).includes(field)) return c.text[field as ContactTextField];
    const f = this.fieldByName(field);
    return f ? c.custom?.[f.id] : undefined;
  }

  isSgqlField(name: string): boolean {
    return (
      name === 'contact_id' ||
      name === 'list_ids' ||
      RESERVED_FIELDS.some((f) => f.name === name) ||
      (CONTACT_TEXT_FIELDS as readonly string[]).includes(name) ||
      !!this.fieldByName(name)
    );
  }

  /** The contact as SendGrid's API returns it (ContactDetails3), custom fields keyed by name. */
  toApi(c: Contact, baseUrl: string): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: c.id,
      first_name: c.text.first_name ?? '',
      last_name: c.text.last_name ?? '',
      unique_name: c.text.unique_name ?? '',
      email: c.text.email ?? '',
    };
    for (const k of ['phone_number_id', 'external_id', 'anonymous_id'] as const)
      if (c.text[k]) out[k] = c.text[k];
    out.alternate_emails = c.alternate_emails ?? [];
    for (const k of [
      'address_line_1',
      'address_line_2',
      'city',
      'state_province_region',
      'country',
      'postal_code',
      'phone_number',
      'whatsapp',
      'line',
      'facebook',
    ] as const)
      out[k] = c.text[k] ?? '';
    out.list_ids = c.list_ids;
    out.segment_ids = [];
    const custom: Record<string, unknown> = {};
    if (c.custom) for (const [id, v] of Object.entries(c.custom)) custom[this.fieldById(id)?.name ?? id] = v;
    out.custom_fields = custom;
    out.created_at = new Date(c.createdAt).toISOString();
    out.updated_at = new Date(c.updatedAt).toISOString();
    out._metadata = { self: `${baseUrl}/v3/marketing/contacts/${c.id}` };
    return out;
  }
}
