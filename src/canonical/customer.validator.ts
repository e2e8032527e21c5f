// Ingest validation of canonical records. A record that fails is quarantined with every reason, never dropped
// and never half-applied. Uses maintained validators (validator.js for email, libphonenumber-js for phones).
import { getCountries, isValidPhoneNumber } from 'libphonenumber-js';
import isEmail from 'validator/lib/isEmail';
import { BoundedMemo } from '../common/bounded-memo';
import { isEmpty } from './merge-rules';
import { standardFieldSchemas, type CustomerFields, type StandardField } from './customer.model';

export interface ValidationIssue {
  field: string;
  message: string;
}

const COUNTRIES = new Set<string>(getCountries());
/**
 * Phone validation is the costliest check, and a record read again (a re-read second, a webhook after a sync)
 * brings its numbers back soon: verdicts are remembered. A few thousand cover that. A full sync's numbers are
 * nearly all distinct, so a larger memo fills up without hits: the 100,000 verdicts this kept before weigh ~6.6 MB
 * of heap (measured alone), all held at 1,000,000 customers.
 */
const phoneVerdicts = new BoundedMemo<string, boolean>(5_000);

/**
 * Records that a number is valid E.164, checked by its producer against the full numbering plan (the `e164`
 * transform, which uses libphonenumber-js's "max" metadata, stricter than the check below): a mapped record's phone
 * is then not parsed a second time here, ~2% of a full sync's engine thread.
 */
export function knownValidPhone(e164: string): void {
  phoneVerdicts.set(e164, true);
}

function validPhone(v: string): boolean {
  let ok = phoneVerdicts.get(v);
  if (ok === undefined) {
    ok = v.startsWith('+') && isValidPhoneNumber(v);
    phoneVerdicts.set(v, ok);
  }
  return ok;
}
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export function validateCustomerFields(
  fields: CustomerFields,
  required: readonly string[] = [],
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const name of required) {
    if (isEmpty(fields[name])) issues.push({ field: name, message: 'is required by the mapping but empty' });
  }
  for (const [field, value] of Object.entries(fields)) {
    if (isEmpty(value)) continue;
    const schema = standardFieldSchemas[field as StandardField];
    if (schema) {
      const r = schema.safeParse(value);
      if (!r.success) {
        issues.push({ field, message: r.error.issues[0]?.message ?? 'invalid value' });
        continue;
      }
    }
    switch (field) {
      case 'email':
        if (!isEmail(String(value), { allow_utf8_local_part: true, require_tld: true })) {
          issues.push({ field, message: `"${maskEmail(String(value))}" is not a valid email address` });
        }
        break;
      case 'phone':
        if (!validPhone(String(value))) {
          issues.push({ field, message: 'is not a valid E.164 phone number' });
        }
        break;
      case 'country':
        if (!COUNTRIES.has(String(value)))
          issues.push({ field, message: `"${value}" is not a known ISO 3166-1 alpha-2 country code` });
        break;
      case 'unsubscribedAt':
      case 'lastPurchaseAt':
      case 'lastActivityAt':
        if (!ISO_DATE_TIME.test(String(value)) || Number.isNaN(Date.parse(String(value)))) {
          issues.push({ field, message: 'is not an ISO 8601 date-time' });
        }
        break;
      case 'totalSpent':
        if (String(value).startsWith('-')) issues.push({ field, message: 'must not be negative' });
        break;
    }
  }
  return issues;
}

/** Keeps reasons useful without copying a full address into logs and error lists. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  if (at <= 0) return email.length > 2 ? `${email.slice(0, 2)}…` : '…';
  return `${email.slice(0, 1)}…${email.slice(at)}`;
}
