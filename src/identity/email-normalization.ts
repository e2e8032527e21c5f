// Email normalization for identity matching, by configurable rules. Pure and separate from the email keyer on
// purpose: the keyer (plain or a keyed blind index) is applied to what this returns, so rules and keys compose.
export enum EmailRule {
  Case = 'case',
  Whitespace = 'whitespace',
  /** Gmail ignores dots in the local part (and googlemail.com is the same mailbox). */
  GmailDots = 'gmail-dots',
  /** Sub-addressing: "ann+news@x" reaches "ann@x" at most providers. */
  PlusTags = 'plus-tags',
}

export const DEFAULT_EMAIL_RULES: readonly EmailRule[] = [EmailRule.Case, EmailRule.Whitespace];
const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

export function parseEmailRules(spec: string | undefined): EmailRule[] {
  if (spec === undefined) return [...DEFAULT_EMAIL_RULES];
  const known = new Set<string>(Object.values(EmailRule));
  return spec
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0)
    .map((r) => {
      if (!known.has(r)) throw new RangeError(`unknown email rule "${r}"`);
      return r as EmailRule;
    });
}

/** The matching form of an email under the rules, or null when empty. Never used as the stored value. */
export function normalizeEmailForMatching(
  raw: unknown,
  rules: readonly EmailRule[] = DEFAULT_EMAIL_RULES,
): string | null {
  if (typeof raw !== 'string') return null;
  const on = new Set(rules);
  // Surrounding whitespace never belongs to an address; the whitespace rule also drops inner blanks (copy-paste).
  let e = on.has(EmailRule.Whitespace) ? raw.replace(/\s+/g, '') : raw.trim();
  if (on.has(EmailRule.Case)) e = e.toLowerCase();
  if (!e.length) return null;
  const at = e.lastIndexOf('@');
  if (at <= 0) return e;
  let local = e.slice(0, at);
  let domain = e.slice(at + 1);
  if (on.has(EmailRule.PlusTags)) {
    const plus = local.indexOf('+');
    if (plus > 0) local = local.slice(0, plus);
  }
  if (on.has(EmailRule.GmailDots) && GMAIL_DOMAINS.has(domain.toLowerCase())) {
    local = local.replace(/\./g, '');
    domain = 'gmail.com';
  }
  return `${local}@${domain}`;
}
