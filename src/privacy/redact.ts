// Masks personal data and secrets in free text before it reaches a log line or an error column (outbox.last_error,
// sync_runs.errors, webhook_inbox.last_error, erasure_steps.last_error). Vendor error messages quote what they
// rejected ("Email address jane@x.com is invalid"), and URLs can carry shared secrets (?token=…); the masked text
// keeps the rest of the message readable.
const RULES: Array<[RegExp, string]> = [
  // Email addresses (also inside URLs, JSON and quoted vendor messages).
  [/[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, '[email]'],
  // Secrets in query strings and key=value pairs.
  [
    /\b((?:access_?token|refresh_?token|token|api_?key|apikey|key|secret|client_secret|password|signature|sig|code)=)[^&\s"'<>]+/gi,
    '$1[redacted]',
  ],
  // Authorization header values.
  [/\b(Bearer|OAuth|Basic)\s+[A-Za-z0-9._~+/!=-]{8,}/g, '$1 [redacted]'],
  // SendGrid API keys, Salesforce session ids (org id + '!'), HubSpot private-app tokens.
  [/\bSG\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}/g, '[redacted]'],
  [/\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]+/g, '[redacted]'],
  [/\bpat-[a-z0-9]{2,4}-[A-Za-z0-9-]{16,}/g, '[redacted]'],
  // Phone numbers in international format.
  [/\+\d[\d ().-]{7,}\d/g, '[phone]'],
];

export function redactText(text: string): string {
  let out = text;
  for (const [re, to] of RULES) out = out.replace(re, to);
  return out;
}

/** A pino `hooks.logMethod`: every string argument and any err's message and stack are masked. */
export function redactLogArgs(args: unknown[]): unknown[] {
  return args.map((a) => {
    if (typeof a === 'string') return redactText(a);
    if (a instanceof Error) return redactError(a);
    if (a && typeof a === 'object') {
      const o = a as Record<string, unknown>;
      let copy: Record<string, unknown> | undefined;
      for (const k of ['err', 'error', 'msg', 'message']) {
        const v = o[k];
        const masked = v instanceof Error ? redactError(v) : typeof v === 'string' ? redactText(v) : v;
        if (masked !== v) (copy ??= { ...o })[k] = masked;
      }
      return copy ?? a;
    }
    return a;
  });
}

function redactError(e: Error): Error {
  const copy = new Error(redactText(e.message));
  copy.name = e.name;
  copy.stack = e.stack ? redactText(e.stack) : undefined;
  return copy;
}
