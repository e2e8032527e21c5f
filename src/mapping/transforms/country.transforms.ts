// Countries: ISO 3166-1 alpha-2 codes in the canonical model, names or codes at the vendors.
// The code list is validator's maintained ISO 3166-1 set and the names come from ICU (Intl.DisplayNames)
// in a handful of locales, so nothing here is a hand-kept country table; ALIASES only adds common
// informal or former names that ICU does not produce.
import { CountryCodes as ISO_CODES } from 'validator/lib/isISO31661Alpha2';
import { defineTransform, TransformError } from './transform.types';
import { noArgs, scalarText, show } from './transform.util';
import { boundedMemo } from './memo';

// Widened from validator's literal-union type so arbitrary input can be looked up.
const CountryCodes: ReadonlySet<string> = ISO_CODES;

const NAME_LOCALES = ['en', 'de', 'fr', 'es', 'pt', 'it', 'nl'];

const ALIASES: Record<string, string> = {
  usa: 'US',
  'united states of america': 'US',
  'u s a': 'US',
  'great britain': 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  holland: 'NL',
  'czech republic': 'CZ',
  'ivory coast': 'CI',
  'republic of korea': 'KR',
  burma: 'MM',
  swaziland: 'SZ',
  'east timor': 'TL',
};

/** Folds a country name for lookup: no accents, no punctuation, lower case, "&" as "and". */
export function foldCountryName(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[-.,'’()]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^the /, '');
}

let byName: Map<string, string> | undefined;
let englishName: Intl.DisplayNames | undefined;

function nameIndex(): Map<string, string> {
  if (byName) return byName;
  const index = new Map<string, string>();
  for (const locale of NAME_LOCALES) {
    for (const style of ['long', 'short'] as const) {
      const names = new Intl.DisplayNames([locale], { type: 'region', style, fallback: 'none' });
      for (const code of CountryCodes) {
        const name = names.of(code);
        if (!name) continue;
        const key = foldCountryName(name);
        if (!index.has(key)) index.set(key, code);
      }
    }
  }
  for (const [alias, code] of Object.entries(ALIASES)) if (!index.has(alias)) index.set(alias, code);
  byName = index;
  return index;
}

const lookup = boundedMemo(10_000, (text: string): string | undefined => {
  const upper = text.toUpperCase();
  if (upper.length === 2 && CountryCodes.has(upper)) return upper;
  return nameIndex().get(foldCountryName(text));
});

/** ISO alpha-2 code (upper case) for a code or a country name; null when empty; undefined when unknown. */
export function resolveCountry(v: unknown): string | null | undefined {
  const text = scalarText(v);
  return text === null ? null : lookup(text);
}

export const countryName = boundedMemo(1_000, (code: string): string | undefined => {
  englishName ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  return englishName.of(code);
});

export const countryTransforms = [
  defineTransform('countryCode', noArgs, (v) => {
    const code = resolveCountry(v);
    if (code === undefined) throw new TransformError(`unknown country ${show(v)}`);
    return code;
  }),
  /** The English name of a country given as code or name (for vendors whose country field is free text). */
  defineTransform('countryName', noArgs, (v) => {
    const code = resolveCountry(v);
    if (code === undefined) throw new TransformError(`unknown country ${show(v)}`);
    if (code === null) return null;
    const name = countryName(code);
    if (!name) throw new TransformError(`no name known for country ${show(v)}`);
    return name;
  }),
];
