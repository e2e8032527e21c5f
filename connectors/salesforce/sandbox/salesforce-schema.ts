/**
 * The Contact and Lead metadata this sandbox serves: the field list (API names, types, lengths, flags)
 * that describe returns and that SOQL, writes and Outbound Messages validate against.
 * Records are stored as flat arrays in field order, so the first three slots are fixed for every object.
 */
export type SObjectName = 'Contact' | 'Lead';
export const SOBJECT_NAMES: readonly SObjectName[] = ['Contact', 'Lead'];

export type FieldType =
  'id' | 'reference' | 'string' | 'email' | 'phone' | 'textarea' | 'picklist' | 'boolean' | 'datetime';

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  length: number;
  /** Stored in the record array at this slot; -1 for fields computed on read (Name). */
  slot: number;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  required?: boolean;
  externalId?: boolean;
  unique?: boolean;
  custom?: boolean;
  defaultValue?: string | boolean;
  picklistValues?: string[];
  referenceTo?: string;
  relationshipName?: string;
}

export type Value = string | number | boolean | null;
/** A stored record: values by slot. Datetimes are epoch milliseconds. */
export type Row = Value[];

export const SLOT_ID = 0;
export const SLOT_IS_DELETED = 1;
export const SLOT_MODSTAMP = 2;
export const SLOT_CREATED = 3;
export const SLOT_LAST_MODIFIED = 4;

export const EXTERNAL_ID_FIELD = 'Syncline_Id__c';

const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
const LEAD_STATUSES = [
  'Open - Not Contacted',
  'Working - Contacted',
  'Closed - Converted',
  'Closed - Not Converted',
];

type Spec = Omit<FieldDef, 'slot' | 'createable' | 'updateable' | 'nillable'> &
  Partial<Pick<FieldDef, 'createable' | 'updateable' | 'nillable'>>;

const system = (name: string, label: string, type: FieldType): Spec => ({
  name,
  label,
  type,
  length: type === 'id' ? 18 : 0,
  createable: false,
  updateable: false,
  nillable: false,
});
const text = (
  name: string,
  label: string,
  length: number,
  type: FieldType = 'string',
  extra: Partial<Spec> = {},
): Spec => ({
  name,
  label,
  type,
  length,
  ...extra,
});

const COMMON_HEAD: Spec[] = [
  system('Id', 'Contact ID', 'id'),
  system('IsDeleted', 'Deleted', 'boolean'),
  system('SystemModstamp', 'System Modstamp', 'datetime'),
  system('CreatedDate', 'Created Date', 'datetime'),
  system('LastModifiedDate', 'Last Modified Date', 'datetime'),
];

const COMMON_TAIL: Spec[] = [
  text('Email', 'Email', 80, 'email'),
  text('Phone', 'Phone', 40, 'phone'),
  text('MobilePhone', 'Mobile Phone', 40, 'phone'),
  text('Title', 'Title', 128),
  text('LeadSource', 'Lead Source', 255, 'picklist', { picklistValues: LEAD_SOURCES }),
  {
    name: 'HasOptedOutOfEmail',
    label: 'Email Opt Out',
    type: 'boolean',
    length: 0,
    nillable: false,
    defaultValue: false,
  },
  text('Description', 'Description', 32000, 'textarea'),
  text(EXTERNAL_ID_FIELD, 'Syncline Id', 255, 'string', { externalId: true, unique: true, custom: true }),
];

const CONTACT: Spec[] = [
  ...COMMON_HEAD,
  text('FirstName', 'First Name', 40),
  text('LastName', 'Last Name', 80, 'string', { required: true, nillable: false }),
  { ...system('Name', 'Full Name', 'string'), length: 121 },
  text('AccountId', 'Account ID', 18, 'reference', { referenceTo: 'Account', relationshipName: 'Account' }),
  text('MailingCity', 'Mailing City', 40),
  text('MailingCountry', 'Mailing Country', 80),
  ...COMMON_TAIL,
];

const LEAD: Spec[] = [
  ...COMMON_HEAD.map((f) => (f.name === 'Id' ? { ...f, label: 'Lead ID' } : f)),
  text('FirstName', 'First Name', 40),
  text('LastName', 'Last Name', 80, 'string', { required: true, nillable: false }),
  { ...system('Name', 'Full Name', 'string'), length: 121 },
  text('Company', 'Company', 255, 'string', { required: true, nillable: false }),
  text('City', 'City', 40),
  text('Country', 'Country', 80),
  text('Status', 'Status', 255, 'picklist', {
    picklistValues: LEAD_STATUSES,
    defaultValue: LEAD_STATUSES[0],
    nillable: false,
  }),
  ...COMMON_TAIL,
];

export interface ObjectSchema {
  name: SObjectName;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  fields: FieldDef[];
  /** Lower-cased API name -> field; SOQL and JSON field names are case-insensitive. */
  byLowerName: Map<string, FieldDef>;
  /** Number of stored slots. */
  width: number;
}

function build(
  name: SObjectName,
  label: string,
  labelPlural: string,
  keyPrefix: string,
  specs: Spec[],
): ObjectSchema {
  let slot = 0;
  const fields = specs.map((s): FieldDef => {
    const computed = s.name === 'Name';
    return {
      createable: true,
      updateable: true,
      nillable: true,
      ...s,
      slot: computed ? -1 : slot++,
    };
  });
  return {
    name,
    label,
    labelPlural,
    keyPrefix,
    fields,
    byLowerName: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
    width: slot,
  };
}

export const SCHEMAS: Record<SObjectName, ObjectSchema> = {
  Contact: build('Contact', 'Contact', 'Contacts', '003', CONTACT),
  Lead: build('Lead', 'Lead', 'Leads', '00Q', LEAD),
};

export function schemaFor(name: string): ObjectSchema | undefined {
  const key = SOBJECT_NAMES.find((n) => n.toLowerCase() === name.toLowerCase());
  return key ? SCHEMAS[key] : undefined;
}

const SOAP_TYPES: Record<FieldType, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  textarea: 'xsd:string',
  picklist: 'xsd:string',
  boolean: 'xsd:boolean',
  datetime: 'xsd:dateTime',
};

/** The sObject describe body, shaped like Salesforce's DescribeSObjectResult (the parts clients read). */
export function describeObject(schema: ObjectSchema, version: string): Record<string, unknown> {
  const base = `/services/data/v${version}/sobjects/${schema.name}`;
  return {
    name: schema.name,
    label: schema.label,
    labelPlural: schema.labelPlural,
    keyPrefix: schema.keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    replicateable: true,
    retrieveable: true,
    searchable: true,
    undeletable: true,
    triggerable: true,
    urls: {
      sobject: base,
      describe: `${base}/describe`,
      rowTemplate: `${base}/{ID}`,
    },
    childRelationships: [],
    recordTypeInfos: [],
    fields: schema.fields.map((f) => ({
      name: f.name,
      label: f.label,
      type: f.type,
      soapType: SOAP_TYPES[f.type],
      length: f.type === 'boolean' || f.type === 'datetime' ? 0 : f.length,
      byteLength: f.type === 'boolean' || f.type === 'datetime' ? 0 : f.length * 3,
      custom: f.custom ?? false,
      externalId: f.externalId ?? false,
      unique: f.unique ?? false,
      idLookup: f.type === 'id' || f.externalId === true || f.type === 'email',
      createable: f.createable,
      updateable: f.updateable,
      nillable: f.nillable,
      defaultedOnCreate: f.defaultValue !== undefined || !f.createable,
      defaultValue: f.defaultValue ?? null,
      filterable: f.type !== 'textarea',
      sortable: f.type !== 'textarea',
      groupable: f.type !== 'textarea' && f.type !== 'datetime',
      calculated: f.name === 'Name',
      caseSensitive: false,
      picklistValues: (f.picklistValues ?? []).map((v, i) => ({
        active: true,
        defaultValue: i === 0 && f.name === 'Status',
        label: v,
        value: v,
        validFor: null,
      })),
      referenceTo: f.referenceTo ? [f.referenceTo] : [],
      relationshipName: f.relationshipName ?? null,
    })),
  };
}
