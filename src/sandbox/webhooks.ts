// Outbound webhooks as a vendor sends them: real HTTP POSTs to the configured URL, retried on the vendor's
// (scaled-down) schedule until acknowledged, optionally duplicated or reordered. Signing is the caller's job.
// Timers are unref'd so a forgotten dispatcher never keeps a process alive; close() cancels everything.
import { createRng, shuffleInPlace, type Rng } from './rng';

export interface WebhookDelivery {
  /** Vendor event/delivery id; duplicates and retries keep it. */
  id: string;
  body: string;
  headers: Record<string, string>;
  contentType: string;
  /** Attempt-dependent headers (1-based attempt), merged over `headers`; for vendors that sign per attempt. */
  sign?: (attempt: number) => Record<string, string>;
}

export interface DeliveryAttempt {
  id: string;
  /** 1-based attempt number for this copy of the delivery. */
  attempt: number;
  /** HTTP status, or 0 when the request failed without a response (refused, timed out, cancelled). */
  status: number;
  /** Epoch ms when the attempt finished. */
  at: number;
  acked: boolean;
  /** True for the extra copy sent when duplicateRate fires. */
  duplicate: boolean;
  error?: string;
}

export interface WebhookDispatcherOptions {
  vendor: string;
  /** Delay before attempt 2, 3, …; attempts = 1 + length. */
  retryDelaysMs: number[];
  /** Default: any 2xx. */
  isAck?(status: number, body: string): boolean;
  /** Seed for the duplicate and reorder choices. Default 1. */
  seed?: number;
  /** Per-request timeout. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** New deliveries are collected this long before being sent as one batch (the unit reorder shuffles). Default 5 ms. */
  batchWindowMs?: number;
  /** Requests in flight at once. Default 1, so that without reorder deliveries arrive in send order. */
  concurrency?: number;
}

export interface WebhookConfig {
  url?: string;
  duplicateRate: number;
  reorder: boolean;
  enabled: boolean;
  retryDelaysMs: number[];
}

interface Job {
  delivery: WebhookDelivery;
  attempts: number;
  duplicate: boolean;
}

export function validateWebhookConfig(p: Partial<WebhookConfig>): void {
  const known = ['url', 'duplicateRate', 'reorder', 'enabled', 'retryDelaysMs'];
  for (const key of Object.keys(p)) {
    if (!known.includes(key)) throw new RangeError(`unknown webhook setting "${key}"`);
  }
  if (p.url !== undefined && p.url !== '') {
    let parsed: URL;
    try {
      parsed = new URL(p.url);
    } catch {
      throw new RangeError(`url "${p.url}" is not a valid URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new RangeError('url must be http(s)');
  }
  const d = p.duplicateRate;
  if (d !== undefined && (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > 1)) {
    throw new RangeError('duplicateRate must be a number between 0 and 1');
  }
  if (p.reorder !== undefined && typeof p.reorder !== 'boolean')
    throw new RangeError('reorder must be a boolean');
  if (p.enabled !== undefined && typeof p.enabled !== 'boolean')
    throw new RangeError('enabled must be a boolean');
  if (
    p.retryDelaysMs !== undefined &&
    (!Array.isArray(p.retryDelaysMs) ||
      p.retryDelaysMs.some((n) => typeof n !== 'number' || !Number.isFinite(n) || n < 0))
  ) {
    throw new RangeError('retryDelaysMs must be an array of non-negative numbers');
  }
}

export class WebhookDispatcher {
  readonly vendor: string;
  /** Every attempt made, in completion order. */
  readonly log: DeliveryAttempt[] = [];
  /** Deliveries not sent because no URL was set, the dispatcher was disabled, or it was closed. */
  dropped = 0;

  private cfg: WebhookConfig;
  private readonly isAck: (status: number, body: string) => boolean;
  private rng: Rng;
  private readonly seed: number;
  private readonly requestTimeoutMs: number;
  private readonly batchWindowMs: number;
  private readonly concurrency: number;

  private incoming: Job[] = [];
  private ready: Job[] = [];
  private batchTimer?: NodeJS.Timeout;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Map<Promise<void>, AbortController>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(opts: WebhookDispatcherOptions) {
    validateWebhookConfig({ retryDelaysMs: opts.retryDelaysMs });
    this.vendor = opts.vendor;
    this.isAck = opts.isAck ?? ((status) => status >= 200 && status < 300);
    this.seed = opts.seed ?? 1;
    this.rng = createRng(this.seed);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.batchWindowMs = opts.batchWindowMs ?? 5;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.cfg = {
      url: undefined,
      duplicateRate: 0,
      reorder: false,
      enabled: true,
      retryDelaysMs: [...opts.retryDelaysMs],
    };
  }

  get config(): WebhookConfig {
    return { ...this.cfg, retryDelaysMs: [...this.cfg.retryDelaysMs] };
  }

  /** `url: ''` clears the URL. Throws RangeError on bad values (the admin router answers 400). */
  configure(p: Partial<WebhookConfig>): void {
    validateWebhookConfig(p);
    const next = { ...this.cfg, ...p };
    if (p.url === '') next.url = undefined;
    if (p.retryDelaysMs) next.retryDelaysMs = [...p.retryDelaysMs];
    this.cfg = next;
  }

  /** Queues a delivery; it goes out with the next batch. Dropped (and counted) when there is nowhere to send. */
  send(delivery: WebhookDelivery): void {
    if (this.closed || !this.cfg.enabled || !this.cfg.url) {
      this.dropped++;
      return;
    }
    this.incoming.push({ delivery, attempts: 0, duplicate: false });
    if (!this.batchTimer) {
      this.batchTimer = setTimeout(() => this.releaseBatch(), this.batchWindowMs);
      this.batchTimer.unref();
    }
  }

  /** Number of deliveries queued, waiting for a retry, or in flight. */
  get pending(): number {
    return this.incoming.length + this.ready.length + this.retryTimers.size + this.inFlight.size;
  }

  /** Resolves when nothing is queued, waiting for a retry or in flight; rejects after timeoutMs. */
  flush(timeoutMs = 10_000): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `${this.vendor} webhooks: ${this.pending} deliveries still pending after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      const waiter = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.idleWaiters.push(waiter);
    });
  }

  /** Cancels queued deliveries and pending retries, aborts requests in flight, and clears the log. Keeps config. */
  async reset(): Promise<void> {
    await this.cancelAll();
    this.log.length = 0;
    this.dropped = 0;
    this.rng = createRng(this.seed);
  }

  /** Cancels everything and refuses further sends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.cancelAll();
  }

  /** Alias of close(). */
  stop(): Promise<void> {
    return this.close();
  }

  private async cancelAll(): Promise<void> {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.incoming = [];
    this.ready = [];
    const running = [...this.inFlight.keys()];
    for (const controller of this.inFlight.values()) controller.abort();
    await Promise.allSettled(running);
    this.notifyIfIdle();
  }

  private releaseBatch(): void {
    this.batchTimer = undefined;
    const batch: Job[] = [];
    for (const job of this.incoming) {
      batch.push(job);
      if (this.cfg.duplicateRate > 0 && this.rng.chance(this.cfg.duplicateRate)) {
        batch.push({ delivery: job.delivery, attempts: 0, duplicate: true });
      }
    }
    this.incoming = [];
    if (this.cfg.reorder && batch.length > 1) {
      const before = batch.slice();
      shuffleInPlace(this.rng, batch);
      // A shuffle can land on the original order; reorder promises out-of-order arrival, so force it.
      if (batch.every((job, i) => job === before[i])) batch.reverse();
    }
    this.ready.push(...batch);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.concurrency && this.ready.length > 0) {
      const job = this.ready.shift() as Job;
      const controller = new AbortController();
      const run = this.attempt(job, controller.signal).finally(() => {
        this.inFlight.delete(run);
        this.pump();
        this.notifyIfIdle();
      });
      this.inFlight.set(run, controller);
    }
    this.notifyIfIdle();
  }

  private async attempt(job: Job, signal: AbortSignal): Promise<void> {
    job.attempts++;
    const url = this.cfg.url;
    const { delivery } = job;
    let status = 0;
    let error: string | undefined;
    let responseBody = '';
    if (!url) {
      error = 'no webhook url configured';
    } else {
      const headers: Record<string, string> = {
        ...delivery.headers,
        ...(delivery.sign?.(job.attempts) ?? {}),
        'content-type': delivery.contentType,
      };
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body: delivery.body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.requestTimeoutMs)]),
        });
        status = res.status;
        responseBody = await res.text();
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    const acked = status !== 0 && this.isAck(status, responseBody);
    this.log.push({
      id: delivery.id,
      attempt: job.attempts,
      status,
      at: Date.now(),
      acked,
      duplicate: job.duplicate,
      error,
    });
    if (acked || signal.aborted || this.closed) return;
    const delay = this.cfg.retryDelaysMs[job.attempts - 1];
    if (delay === undefined) return; // schedule exhausted: the vendor gives up on this delivery
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.ready.push(job);
      this.pump();
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }

  private notifyIfIdle(): void {
    if (this.pending !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
