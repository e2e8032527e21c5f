// The sandbox portal's contacts and contact property definitions, held in memory. Owns ids, timestamps, the unique
// indexes (email, unique custom properties) and change notification; it knows nothing about HTTP or auth.
// Memory matters (100k contacts under 300 MB): timestamps are numbers and derived properties (createdate,
// lastmodifieddate, hs_object_id) are computed on output instead of stored per record.
import { SearchIndexLag, type SeedPerson } from '../../../src/sandbox';

export interface ContactRecord {
  id: number;
  createdAt: number;
  updatedAt: number;
  /** 0 while live. */
  archivedAt: number;
  props: Record<string, string>;
}

export type ChangeSource = 'API' | 'CRM_UI' | 'IMPORT';

export type ContactChange =
  | { kind: 'creation'; record: ContactRecord; at: number; source: ChangeSource }
  | {
      kind: 'propertyChange';
      record: ContactRecord;
      at: number;
      source: ChangeSource;
      name: string;
      value: string;
    }
  | { kind: 'deletion'; record: ContactRecord; at: number; source: ChangeSource }
  /** GDPR delete: the record is gone for good (no archive, no restore). */
  | { kind: 'privacyDeletion'; record: ContactRecord; at: number; source: ChangeSource };

export interface PropertyDefinition {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  description: string;
  hasUniqueValue: boolean;
  hubspotDefined: boolean;
  readOnly: boolean;
  options: { label: string; value: string; displayOrder: number; hidden: boolean }[];
  displayOrder: number;
  createdAt: number;
  updatedAt: number;
}

/** Properties HubSpot computes; they are never stored per record and refuse writes. */
export const DERIVED_PROPERTIES = ['createdate', 'lastmodifieddate', 'hs_object_id'] as const;

const PORTAL_CREATED = Date.UTC(2020, 0, 1);

function def(
  name: string,
  label: string,
  type: string,
  fieldType: string,
  extra: Partial<PropertyDefinition> = {},
): PropertyDefinition {
  return {
    name,
    label,
    type,
    fieldType,
    groupName: 'contactinformation',
    description: '',
    hasUniqueValue: false,
    hubspotDefined: true,
    readOnly: false,
    options: [],
    displayOrder: -1,
    createdAt: PORTAL_CREATED,
    updatedAt: PORTAL_CREATED,
    ...extra,
  };
}

const LIFECYCLE_STAGES = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
  'other',
];
const LEAD_STATUSES = [
  'NEW',
  'OPEN',
  'IN_PROGRESS',
  'OPEN_DEAL',
  'UNQUALIFIED',
  'ATTEMPTED_TO_CONTACT',
  'CONNECTED',
  'BAD_TIMING',
];
const toOptions = (values: string[]) =>
  values.map((v, i) => ({ label: v, value: v, displayOrder: i, hidden: false }));

function builtInProperties(): PropertyDefinition[] {
  return [
    def('email', 'Email', 'string', 'text', { hasUniqueValue: true }),
    def('firstname', 'First Name', 'string', 'text'),
    def('lastname', 'Last Name', 'string', 'text'),
    def('phone', 'Phone Number', 'string', 'phonenumber'),
    def('company', 'Company Name', 'string', 'text'),
    def('jobtitle', 'Job Title', 'string', 'text'),
    def('city', 'City', 'string', 'text'),
    def('country', 'Country/Region', 'string', 'text'),
    def('hs_timezone', 'Time Zone', 'string', 'text'),
    def('hs_language', 'Preferred language', 'string', 'text'),
    def('hs_analytics_source', 'Original Source', 'string', 'text', { groupName: 'analyticsinformation' }),
    def('lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', {
      options: toOptions(LIFECYCLE_STAGES),
    }),
    def('hs_lead_status', 'Lead Status', 'enumeration', 'radio', { options: toOptions(LEAD_STATUSES) }),
    def('hs_email_optout', 'Unsubscribed from all email', 'bool', 'booleancheckbox', {
      options: [
        { label: 'True', value: 'true', displayOrder: 0, hidden: false },
        { label: 'False', value: 'false', displayOrder: 1, hidden: false },
      ],
    }),
    def('total_revenue', 'Total Revenue', 'number', 'number', { groupName: 'deal_information' }),
    def('num_associated_deals', 'Number of Associated Deals', 'number', 'number', {
      groupName: 'deal_information',
    }),
    def('createdate', 'Create Date', 'datetime', 'date', { readOnly: true }),
    def('lastmodifieddate', 'Last Modified Date', 'datetime', 'date', { readOnly: true }),
    def('hs_object_id', 'Record ID', 'number', 'number', { readOnly: true, hasUniqueValue: true }),
  ];
}

/** A seeded person's fields as HubSpot contact properties. Values are kept as given (messy on purpose). */
function personToProperties(p: SeedPerson): Record<string, string> {
  const props: Record<string, string> = {};
  const set = (k: string, v: string | number | undefined): void => {
    if (v !== undefined && v !== '') props[k] = String(v);
  };
  set('email', p.email);
  set('firstname', p.firstName);
  set('lastname', p.lastName);
  set('phone', p.phone);
  set('company', p.company);
  set('jobtitle', p.title);
  set('city', p.city);
  set('country', p.country);
  set('hs_timezone', p.timezone);
  set('hs_language', p.locale);
  set('hs_analytics_source', p.leadSource);
  set('lifecyclestage', p.lifecycleStage ? lifecycleValue(p.lifecycleStage) : undefined);
  set('total_revenue', p.totalSpent);
  set('num_associated_deals', p.orderCount);
  props.hs_email_optout = p.optedOut ? 'true' : 'false';
  return props;
}

/** HubSpot stores lifecycle stages by internal value ("marketingqualifiedlead"), not by label. */
function lifecycleValue(stage: string): string {
  const v = stage.toLowerCase().replace(/[^a-z]/g, '');
  return LIFECYCLE_STAGES.includes(v) ? v : 'other';
}

export class ContactStore {
  /** Sorted by id (ids only grow), archived records included; list and search scan it. */
  private ordered: ContactRecord[] = [];
  private byId = new Map<number, ContactRecord>();
  /** (property -> normalised value -> id) for unique properties, live records only. */
  private unique = new Map<string, Map<string, number>>();
  private properties = new Map<string, PropertyDefinition>();
  private nextId = 1;
  private lastStamp = 0;
  /** Bumped on every change so search result caches know when to drop. */
  version = 0;
  private listeners: ((c: ContactChange) => void)[] = [];
  /** Emails a GDPR delete blocked: HubSpot refuses to create a contact with one of them again. */
  readonly blocklist = new Set<string>();
  /** The portal's clock is the process's plus this; tests move it (never the process's) to age changes. */
  clockOffsetMs = 0;
  /** Search indexing lag (HubSpot documents a delay of a few seconds), on the portal's clock. */
  private readonly searchIndex = new SearchIndexLag<number, ContactRecord>(() => this.now());
  get indexLagMs(): number {
    return this.searchIndex.lagMs;
  }
  set indexLagMs(ms: number) {
    this.searchIndex.lagMs = ms;
  }

  constructor() {
    this.resetAll();
  }

  onChange(listener: (c: ContactChange) => void): void {
    this.listeners.push(listener);
  }

  resetAll(): void {
    this.ordered = [];
    this.byId.clear();
    this.blocklist.clear();
    this.properties = new Map(builtInProperties().map((p) => [p.name, p]));
    this.rebuildUniqueIndexes();
    // HubSpot contact ids are large numbers; starting high keeps "id" and "row number" visibly different.
    this.nextId = 101;
    this.searchIndex.flush();
    this.version++;
  }

  /** The portal's clock: what lastmodifieddate and the answers' Date header come from. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** A timestamp that never goes backwards and differs from the previous change unless shared on purpose. */
  stamp(): number {
    const now = this.now();
    this.lastStamp = now > this.lastStamp ? now : this.lastStamp + 1;
    return this.lastStamp;
  }

  /** Deterministic seed: ids, properties and timestamps depend only on (people, seedTime). */
  seed(count: number, personAt: (index: number) => SeedPerson, seedTime: number): void {
    // Seeded contacts are spread evenly over the year before seedTime, oldest first, each with its own timestamp.
    // People are generated one at a time so 100k never sit in memory twice.
    const span = 365 * 24 * 3600 * 1000;
    const step = Math.max(1, Math.floor(span / Math.max(1, count)));
    let t = seedTime - span;
    for (let i = 0; i < count; i++) {
      t += step;
      const person = personAt(i);
      const record: ContactRecord = {
        id: this.nextId++,
        createdAt: t,
        updatedAt: t,
        archivedAt: 0,
        props: personToProperties(person),
      };
      this.insert(record);
    }
    this.lastStamp = Math.max(this.lastStamp, t);
    this.version++;
  }

  get size(): number {
    return this.byId.size;
  }

  all(): readonly ContactRecord[] {
    return this.ordered;
  }

  get(id: string | number, includeArchived = false): ContactRecord | undefined {
    const n = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : NaN;
    const r = this.byId.get(n);
    if (!r) return undefined;
    return includeArchived || r.archivedAt === 0 ? r : undefined;
  }

  /** Looks a live record up by a unique property (email is matched case-insensitively, as HubSpot does). */
  findBy(idProperty: string | undefined, value: string): ContactRecord | undefined {
    if (!idProperty || idProperty === 'hs_object_id') return this.get(value);
    const idx = this.unique.get(idProperty);
    if (!idx) return undefined;
    const id = idx.get(normaliseUnique(idProperty, value));
    return id === undefined ? undefined : this.get(id);
  }

  isUniqueProperty(name: string): boolean {
    return name === 'hs_object_id' || this.unique.has(name);
  }

  /** First position in `ordered` whose id is >= id (binary search; ids are sorted). */
  indexFrom(id: number): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ordered[mid].id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  create(props: Record<string, string>, source: ChangeSource): ContactRecord {
    const at = this.stamp();
    const record: ContactRecord = {
      id: this.nextId++,
      createdAt: at,
      updatedAt: at,
      archivedAt: 0,
      props: {},
    };
    for (const [k, v] of Object.entries(props)) if (v !== '') record.props[k] = v;
    this.lagIndex(record, null, at);
    this.insert(record);
    this.version++;
    this.emit({ kind: 'creation', record, at, source });
    for (const [name, value] of Object.entries(record.props))
      this.emit({ kind: 'propertyChange', record, at, source, name, value });
    return record;
  }

  /**
   * Applies property values; an empty string clears a property, as in HubSpot. `at` lets a mass update give many
   * records one timestamp. lastmodifieddate moves even for a write that changes nothing, as HubSpot's does on every
   * API update.
   */
  update(
    record: ContactRecord,
    props: Record<string, string>,
    source: ChangeSource,
    at = this.stamp(),
  ): void {
    this.lagIndex(record, snapshot(record), at);
    const changed: [string, string][] = [];
    for (const [name, value] of Object.entries(props)) {
      const before = record.props[name] ?? '';
      if (before === value) continue;
      this.unindex(record, name);
      if (value === '') delete record.props[name];
      else record.props[name] = value;
      this.index(record, name);
      changed.push([name, value]);
    }
    record.updatedAt = at;
    this.version++;
    for (const [name, value] of changed)
      this.emit({ kind: 'propertyChange', record, at, source, name, value });
  }

  archive(record: ContactRecord, source: ChangeSource): void {
    if (record.archivedAt) return;
    const at = this.stamp();
    this.lagIndex(record, snapshot(record), at);
    for (const name of this.unique.keys()) this.unindex(record, name);
    record.archivedAt = at;
    record.updatedAt = at;
    this.version++;
    this.emit({ kind: 'deletion', record, at, source });
  }

  /**
   * GDPR delete: removes the record itself, live or archived, so neither the list (archived=true included), search,
   * nor any read can return it again. Only the id survives, in the change event.
   */
  purge(record: ContactRecord, source: ChangeSource): void {
    if (this.byId.get(record.id) !== record) return;
    const at = this.stamp();
    if (!record.archivedAt) for (const name of this.unique.keys()) this.unindex(record, name);
    this.byId.delete(record.id);
    this.searchIndex.forget(record.id);
    const i = this.indexFrom(record.id);
    if (this.ordered[i] === record) this.ordered.splice(i, 1);
    this.version++;
    this.emit({
      kind: 'privacyDeletion',
      record: { id: record.id, createdAt: record.createdAt, updatedAt: at, archivedAt: at, props: {} },
      at,
      source,
    });
    record.props = {};
  }

  /**
   * The version of a record search sees now: the record itself once its last write is indexed, else the version
   * indexed before that write (null: not in the index yet).
   */
  searchView(record: ContactRecord): ContactRecord | null {
    return this.searchIndex.view(record.id, record);
  }

  /** Whether some write is still waiting for the search index (search answers then change with time alone). */
  get indexPending(): boolean {
    return this.searchIndex.pending();
  }

  /** Indexes every pending write now. */
  flushIndex(): void {
    this.searchIndex.flush();
    this.version++;
  }

  listProperties(): PropertyDefinition[] {
    return [...this.properties.values()];
  }

  getProperty(name: string): PropertyDefinition | undefined {
    return this.properties.get(name);
  }

  addProperty(p: PropertyDefinition): void {
    this.properties.set(p.name, p);
    if (p.hasUniqueValue) this.rebuildUniqueIndexes();
  }

  /** Keeps the version search saw before this write, until the write is indexed. */
  private lagIndex(record: ContactRecord, before: ContactRecord | null, at: number): void {
    this.searchIndex.written(record.id, before, at);
  }

  private insert(record: ContactRecord): void {
    this.ordered.push(record);
    this.byId.set(record.id, record);
    for (const name of this.unique.keys()) this.index(record, name);
  }

  private rebuildUniqueIndexes(): void {
    this.unique = new Map();
    for (const p of this.properties.values())
      if (p.hasUniqueValue && p.name !== 'hs_object_id') this.unique.set(p.name, new Map());
    for (const r of this.ordered)
      if (!r.archivedAt) for (const name of this.unique.keys()) this.index(r, name);
  }

  private index(record: ContactRecord, name: string): void {
    const idx = this.unique.get(name);
    const v = record.props[name];
    if (!idx || v === undefined) return;
    const key = normaliseUnique(name, v);
    // Seeded duplicates may collide; the first (oldest) record keeps the value, as the earliest writer would.
    if (!idx.has(key)) idx.set(key, record.id);
  }

  private unindex(record: ContactRecord, name: string): void {
    const idx = this.unique.get(name);
    const v = record.props[name];
    if (!idx || v === undefined) return;
    const key = normaliseUnique(name, v);
    if (idx.get(key) === record.id) idx.delete(key);
  }

  private emit(change: ContactChange): void {
    for (const l of this.listeners) l(change);
  }
}

function snapshot(r: ContactRecord): ContactRecord {
  return { ...r, props: { ...r.props } };
}

export function normaliseUnique(name: string, value: string): string {
  return name === 'email' ? value.trim().toLowerCase() : value;
}

/** The value HubSpot would show for a property, including the derived ones. */
export function propertyValue(record: ContactRecord, name: string): string | undefined {
  switch (name) {
    case 'createdate':
      return new Date(record.createdAt).toISOString();
    case 'lastmodifieddate':
      return new Date(record.updatedAt).toISOString();
    case 'hs_object_id':
      return String(record.id);
    default:
      return record.props[name];
  }
}
