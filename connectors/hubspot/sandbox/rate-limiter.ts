// HubSpot's per-token API limits: a rolling ten-second window (TEN_SECONDLY_ROLLING, 100 requests by default for a
// private app) and a daily budget, reported on every response through the X-HubSpot-RateLimit-* headers.
// Counts only; the router decides what a refused request looks like.

export interface RateLimitOptions {
  /** Requests per interval per token; 0 disables the check (headers are still sent). */
  max: number;
  intervalMs: number;
  /** Requests per day per token; 0 disables. */
  daily: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { max: 100, intervalMs: 10_000, daily: 250_000 };

export interface RateDecision {
  allowed: boolean;
  /** Which budget refused: the rolling window or the day. */
  policy?: 'TEN_SECONDLY_ROLLING' | 'DAILY';
  headers: Record<string, string>;
}

export class RateLimiter {
  private windows = new Map<string, number[]>();
  private days = new Map<string, { day: number; used: number }>();

  constructor(public options: RateLimitOptions = { ...DEFAULT_RATE_LIMIT }) {}

  configure(p: Partial<RateLimitOptions>): void {
    this.options = { ...this.options, ...p };
  }

  reset(): void {
    this.windows.clear();
    this.days.clear();
  }

  take(token: string, now = Date.now()): RateDecision {
    const { max, intervalMs, daily } = this.options;
    const stamps = this.windows.get(token) ?? [];
    while (stamps.length > 0 && stamps[0] <= now - intervalMs) stamps.shift();
    this.windows.set(token, stamps);
    const today = Math.floor(now / 86_400_000);
    let day = this.days.get(token);
    if (!day || day.day !== today) {
      day = { day: today, used: 0 };
      this.days.set(token, day);
    }
    const windowFull = max > 0 && stamps.length >= max;
    const dayFull = daily > 0 && day.used >= daily;
    const allowed = !windowFull && !dayFull;
    if (allowed) {
      // Refused requests do not count against the window, so a client that backs off recovers after the interval.
      stamps.push(now);
      day.used++;
    }
    const headers: Record<string, string> = {
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(intervalMs),
      'X-HubSpot-RateLimit-Max': String(max),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, max - stamps.length)),
      'X-HubSpot-RateLimit-Daily': String(daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, daily - day.used)),
    };
    return { allowed, policy: windowFull ? 'TEN_SECONDLY_ROLLING' : dayFull ? 'DAILY' : undefined, headers };
  }
}
