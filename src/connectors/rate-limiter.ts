// Keeps a vendor's request budget before the vendor has to enforce it. Connectors call acquire() before each
// vendor request. In-process by default; the scale-out adapter shares the budget across workers through Redis.
import { Injectable } from '@nestjs/common';

export interface RateBudget {
  requests: number;
  perMs: number;
}

export abstract class RateLimiter {
  /**
   * Resolves when one more request under `key` fits the budget: the one the vendor stated (`learn`), else `budget`
   * (the connector's documented default).
   */
  abstract acquire(key: string, budget: RateBudget, signal?: AbortSignal): Promise<void>;
  /** The vendor told us to back off (429 with retry-after): hold every caller of this key until then. */
  abstract pause(key: string, untilMs: number): void;
  /**
   * The vendor stated the budget of `key` (SendGrid's X-RateLimit-Limit, say): every caller of the key keeps it from
   * now on, in every process sharing the limiter. Kept per process, a worker that had not heard the vendor yet
   * counted the cluster's requests against the default and waited for a window it did not need to.
   */
  abstract learn(key: string, budget: RateBudget): void;
}

/** Sliding-window limiter for one process. */
@Injectable()
export class InProcessRateLimiter extends RateLimiter {
  private readonly windows = new Map<string, { stamps: number[]; pausedUntil: number }>();
  private readonly learned = new Map<string, RateBudget>();

  learn(key: string, budget: RateBudget): void {
    this.learned.set(key, {
      requests: Math.max(1, Math.floor(budget.requests)),
      perMs: Math.max(1, Math.floor(budget.perMs)),
    });
  }

  async acquire(key: string, fallback: RateBudget, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const budget = this.learned.get(key) ?? fallback;
      signal?.throwIfAborted();
      const w = this.window(key);
      const now = Date.now();
      while (w.stamps.length && w.stamps[0] <= now - budget.perMs) w.stamps.shift();
      let waitMs = w.pausedUntil - now;
      if (waitMs <= 0 && w.stamps.length < budget.requests) {
        w.stamps.push(now);
        return;
      }
      if (waitMs <= 0) waitMs = w.stamps[0] + budget.perMs - now;
      await new Promise((r) => setTimeout(r, Math.max(1, waitMs)));
    }
  }

  pause(key: string, untilMs: number): void {
    const w = this.window(key);
    w.pausedUntil = Math.max(w.pausedUntil, untilMs);
  }

  private window(key: string) {
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = { stamps: [], pausedUntil: 0 }));
    return w;
  }
}
