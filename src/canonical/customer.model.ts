// Canonical customer model v1: the one shape every vendor record maps into and out of.
// Fields are flat (custom attributes as "custom.<name>") so merge rules and provenance work per field.
import { z } from 'zod';

export const CANONICAL_MODEL_VERSION = 1;

export enum EmailConsent {
  Subscribed = 'subscribed',
  Unsubscribed = 'unsubscribed',
  Unknown = 'unknown',
}

export enum EmailDeliverability {
  Deliverable = 'deliverable',
  Bounced = 'bounced',
  Dropped = 'dropped',
  Unknown = 'unknown',
}

const isoDateTime = z.iso.datetime({ offset: true });
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'must be an exact decimal string');

/** Standard fields and their value schemas. Values are JSON scalars; money is an exact decimal string. */
export const standardFieldSchemas = {
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  phone: z.string(),
  company: z.string(),
  jobTitle: z.string(),
  city: z.string(),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
  lifecycleStage: z.string(),
  leadSource: z.string(),
  emailConsent: z.enum(EmailConsent),
  emailDeliverability: z.enum(EmailDeliverability),
  unsubscribedAt: isoDateTime,
  totalSpent: decimal,
  orderCount: z.number().int().nonnegative(),
  lastPurchaseAt: isoDateTime,
  lastActivityAt: isoDateTime,
  timezone: z.string(),
  locale: z.string(),
} as const;

export type StandardField = keyof typeof standardFieldSchemas;
export const STANDARD_FIELDS = Object.keys(standardFieldSchemas) as StandardField[];
export const CUSTOM_PREFIX = 'custom.';

export type FieldValue = string | number | boolean | null;
/** A customer's field values keyed by canonical field name (standard or "custom.<name>"). */
export type CustomerFields = Record<string, FieldValue>;

export interface FieldProvenance {
  /** Connection that set the current value. */
  connection: string;
  /** That source's own timestamp for the value (ISO 8601, UTC, ms). */
  at: string;
  /** The source record (its id in that connection) that set it, when known: breaks ties within one connection. */
  record?: string;
}
export type Provenance = Record<string, FieldProvenance>;

export interface Identity {
  connection: string;
  object: string;
  externalId: string;
}

export interface CanonicalCustomer {
  id: string;
  version: number;
  email: string | null;
  fields: CustomerFields;
  provenance: Provenance;
  identities: Identity[];
  createdAt: string;
  updatedAt: string;
}

export function isCanonicalField(name: string): boolean {
  return (
    name in standardFieldSchemas || (name.startsWith(CUSTOM_PREFIX) && name.length > CUSTOM_PREFIX.length)
  );
}

/** Normalized primary email: trimmed and lowercased; null when empty. Provider rules are added by identity resolution. */
export function normalizeEmail(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const e = raw.trim().toLowerCase();
  return e.length ? e : null;
}

/** The custom attributes of a flat field map, as one JSON object. */
export function customAttributes(fields: CustomerFields): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(fields))
    if (k.startsWith(CUSTOM_PREFIX)) out[k.slice(CUSTOM_PREFIX.length)] = v;
  return out;
}
