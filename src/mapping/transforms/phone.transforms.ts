// E.164 phone numbers through libphonenumber-js with full metadata ("max"), so a number is checked
// against the real numbering plan rather than only its length. An invalid number is an error, never
// passed through: a wrong phone is worse than a missing one for SMS and for identity matching.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { knownValidPhone } from '../../canonical/customer.validator';
import { z } from 'zod';
import { resolveCountry } from './country.transforms';
import { defineTransform, TransformError } from './transform.types';
import { scalarText, show } from './transform.util';
import { boundedMemo } from './memo';

const e164Args = z
  .object({
    /** Country for numbers written without a "+" prefix. */
    defaultCountry: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
      .optional(),
    /** Field of the record (vendor path inbound, canonical field outbound) holding a country name or code. */
    defaultCountryFrom: z.string().min(1).optional(),
  })
  .strict()
  .optional();

/**
 * E.164 text, or an Error to throw (memoized too: a bad number stays bad on every re-read). Sized for re-reads
 * close together, not for a whole base: a full sync's numbers are nearly all distinct, and the 50,000 entries
 * this kept before (raw text and E.164 each) were several MB of heap held at 1,000,000 customers for few hits.
 */
const parseMemo = boundedMemo(10_000, (key: string): string | TransformError => {
  const sep = key.indexOf('|');
  return parse(key.slice(sep + 1), key.slice(0, sep) || undefined);
});

export function toE164(v: unknown, defaultCountry?: string): string | null {
  const text = scalarText(v);
  if (text === null) return null;
  const result = parseMemo(`${defaultCountry ?? ''}|${text}`);
  if (result instanceof TransformError) throw result;
  return result;
}

function parse(text: string, defaultCountry: string | undefined): string | TransformError {
  let parsed;
  try {
    parsed = parsePhoneNumberFromString(text, defaultCountry as CountryCode | undefined);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !parsed.isValid()) {
    const hint = text.startsWith('+') || defaultCountry ? '' : ' (no country to read it in)';
    return new TransformError(`invalid phone number ${show(text)}${hint}`);
  }
  knownValidPhone(parsed.number);
  return parsed.number;
}

export const phoneTransforms = [
  defineTransform('e164', e164Args, (v, args, ctx) => {
    let country = args?.defaultCountry;
    if (args?.defaultCountryFrom) {
      // An unknown or empty country field falls back to the fixed default rather than failing here:
      // the country field's own transform reports a bad country.
      const fromRecord = resolveCountry(safeGet(ctx.get(args.defaultCountryFrom)));
      if (fromRecord) country = fromRecord;
    }
    return toE164(v, country);
  }),
];

function safeGet(v: unknown): unknown {
  return typeof v === 'string' || typeof v === 'number' ? v : null;
}
