// Fault injection for the emulated vendor APIs: latency, 429s, 5xxs, outage windows, and corrupted JSON bodies.
// Off by default. It decides *whether* to fail; the vendor's FaultResponder decides *how* (its own headers and
// bodies), so every sandbox fails the way its real vendor does. Never mount it in front of /__admin.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRng, type Rng } from './rng';

export interface FaultConfig {
  latencyMs: number;
  rate429: number;
  rate5xx: number;
  /** Epoch ms; until then every request gets the vendor's "unavailable" answer. 0 = no outage. */
  outageUntil: number;
  truncateRate: number;
  malformedRate: number;
  seed: number;
}

export interface FaultResponder {
  tooManyRequests(req: Request, res: Response): void;
  serverError(req: Request, res: Response): void;
  unavailable(req: Request, res: Response): void;
}

export type FaultKind = 'latency' | 'rate429' | 'rate5xx' | 'outage' | 'truncate' | 'malformed';

export interface FaultMiddlewareOptions {
  /** Requests for which no fault is ever injected (e.g. a health probe). */
  skip?(req: Request): boolean;
}

export const DEFAULT_FAULT_CONFIG: Readonly<FaultConfig> = Object.freeze({
  latencyMs: 0,
  rate429: 0,
  rate5xx: 0,
  outageUntil: 0,
  truncateRate: 0,
  malformedRate: 0,
  seed: 1,
});

const RATE_KEYS = ['rate429', 'rate5xx', 'truncateRate', 'malformedRate'] as const;

/** Throws a RangeError naming the bad field; the admin router turns it into a 400. */
export function validateFaultConfig(p: Partial<FaultConfig>): void {
  for (const key of Object.keys(p)) {
    if (!(key in DEFAULT_FAULT_CONFIG)) throw new RangeError(`unknown fault setting "${key}"`);
  }
  for (const key of RATE_KEYS) {
    const v = p[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1)) {
      throw new RangeError(`${key} must be a number between 0 and 1`);
    }
  }
  for (const key of ['latencyMs', 'outageUntil'] as const) {
    const v = p[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new RangeError(`${key} must be a non-negative number`);
    }
  }
  if (p.seed !== undefined && (typeof p.seed !== 'number' || !Number.isInteger(p.seed))) {
    throw new RangeError('seed must be an integer');
  }
}

export class FaultInjector {
  private current: FaultConfig;
  private rng: Rng;
  /** How many faults of each kind were injected since the last reset. */
  readonly injected: Record<FaultKind, number> = FaultInjector.zeroCounts();

  constructor(initial: Partial<FaultConfig> = {}) {
    validateFaultConfig(initial);
    this.current = { ...DEFAULT_FAULT_CONFIG, ...initial };
    this.rng = createRng(this.current.seed);
  }

  get config(): FaultConfig {
    return { ...this.current };
  }

  configure(p: Partial<FaultConfig>): void {
    validateFaultConfig(p);
    this.current = { ...this.current, ...p };
    // Re-seeding on every explicit seed makes "configure({seed}) then run" reproducible.
    if (p.seed !== undefined) this.rng = createRng(this.current.seed);
  }

  reset(): void {
    this.current = { ...DEFAULT_FAULT_CONFIG };
    this.rng = createRng(this.current.seed);
    Object.assign(this.injected, FaultInjector.zeroCounts());
  }

  /** True while an outage window is open. */
  inOutage(now = Date.now()): boolean {
    return this.current.outageUntil > now;
  }

  middleware(vendor: FaultResponder, opts: FaultMiddlewareOptions = {}): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      if (opts.skip?.(req)) return next();
      const cfg = this.current;
      // A fixed number of draws per request keeps each fault's sequence independent of the other rates.
      const [r429, r5xx, rTruncate, rMalformed, rCut] = [1, 2, 3, 4, 5].map(() => this.rng.next());

      if (cfg.latencyMs > 0) {
        this.injected.latency++;
        await new Promise<void>((resolve) => setTimeout(resolve, cfg.latencyMs).unref());
        if (res.destroyed || res.writableEnded) return;
      }
      if (this.inOutage()) {
        this.injected.outage++;
        return vendor.unavailable(req, res);
      }
      if (r429 < cfg.rate429) {
        this.injected.rate429++;
        return vendor.tooManyRequests(req, res);
      }
      if (r5xx < cfg.rate5xx) {
        this.injected.rate5xx++;
        return vendor.serverError(req, res);
      }
      if (rTruncate < cfg.truncateRate) this.corruptBody(res, 'truncate', rCut);
      else if (rMalformed < cfg.malformedRate) this.corruptBody(res, 'malformed', rCut);
      next();
    };
  }

  // res.json() ends in res.send(string), so wrapping send covers both; only the first JSON body of a 2xx changes.
  private corruptBody(res: Response, kind: 'truncate' | 'malformed', r: number): void {
    const originalSend = res.send.bind(res);
    let done = false;
    res.send = ((body?: unknown) => {
      if (done || res.statusCode < 200 || res.statusCode > 299) return originalSend(body);
      const text =
        typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : undefined;
      if (text === undefined) return originalSend(body); // objects come back through here as strings
      done = true;
      if (!looksLikeJson(res, text)) return originalSend(body);
      this.injected[kind]++;
      return originalSend(kind === 'truncate' ? truncateJson(text, r) : malformJson(text));
    }) as Response['send'];
  }

  private static zeroCounts(): Record<FaultKind, number> {
    return { latency: 0, rate429: 0, rate5xx: 0, outage: 0, truncate: 0, malformed: 0 };
  }
}

function looksLikeJson(res: Response, text: string): boolean {
  const type = String(res.get('Content-Type') ?? '');
  if (type) return /json/i.test(type) && text.length > 1;
  return /^\s*[[{]/.test(text);
}

/** Cuts the document somewhere in its middle half, so it is never a complete (parseable) document. */
export function truncateJson(text: string, r: number): string {
  const cut = Math.max(1, Math.floor(text.length * (0.25 + 0.5 * r)));
  return ensureInvalid(text.slice(0, Math.min(cut, text.length - 1)));
}

/** Valid-looking but unparseable JSON: single-quoted first key and a dangling comma, as broken proxies emit. */
export function malformJson(text: string): string {
  const i = text.indexOf('"');
  const swapped = i >= 0 ? `${text.slice(0, i)}'${text.slice(i + 1)}` : text;
  return ensureInvalid(swapped.replace(/([}\]])\s*$/, ',$1'));
}

function ensureInvalid(text: string): string {
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  return `${text}{`; // e.g. a bare number cut short is still valid JSON
}
