/**
 * The sandbox's own clock and Salesforce's datetime formats. Tests move this clock (never the process
 * clock) to age deleted records past the 15-day window or to give many changes one timestamp.
 */
export class SandboxClock {
  private offsetMs = 0;
  private frozenAt: number | undefined;

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** Jump to an absolute instant and keep running from there. */
  set(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
    if (this.frozenAt !== undefined) this.frozenAt = epochMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
    if (this.frozenAt !== undefined) this.frozenAt += ms;
  }

  /** Stop time so that several changes share one SystemModstamp. */
  freeze(at = this.now()): void {
    this.frozenAt = at;
  }

  unfreeze(): void {
    if (this.frozenAt !== undefined) this.offsetMs = this.frozenAt - Date.now();
    this.frozenAt = undefined;
  }

  reset(): void {
    this.offsetMs = 0;
    this.frozenAt = undefined;
  }
}

/** REST API datetime output: 2024-01-01T00:00:00.000+0000. */
export function formatSfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** SOAP (Outbound Message) xsd:dateTime output. */
export function formatXsdDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/;

/** Parses the datetime forms Salesforce accepts (Z, +hhmm, +hh:mm, optional millis); undefined otherwise. */
export function parseSfDateTime(text: string): number | undefined {
  const m = DATETIME_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.slice(1).padEnd(3, '0')) : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (Number.isNaN(t)) return undefined;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return t;
}

/** Date literal (YYYY-MM-DD) as midnight UTC. */
export function parseSfDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}
