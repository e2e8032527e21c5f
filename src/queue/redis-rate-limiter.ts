// Shared vendor rate budget for every worker on one Redis: a sliding-window log per key (a sorted set of request
// stamps) checked and appended in one Lua script, so N workers together never send more than the budget. The
// clock is Redis's own (TIME), never the workers', so skewed hosts still share one window. A vendor's 429 pause
// is stored in Redis too: one worker told to back off holds every worker.
import { randomBytes } from 'node:crypto';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type IORedis from 'ioredis';
import { InProcessRateLimiter, RateLimiter, type RateBudget } from '../connectors/rate-limiter';
import type { AppConfig } from '../config/app-config';
import { createRedis, RedisRole } from './redis-connection';

/**
 * KEYS[1] window (sorted set of stamps), KEYS[2] pause (until, ms), KEYS[3] the budget the vendor stated
 * ("requests:perMs", see learn). ARGV: requests, perMs (the default), unique member.
 * Returns 0 when the request was admitted, else how many ms to wait before asking again.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local limit = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local learned = redis.call('GET', KEYS[3])
if learned then
  local r, p = string.match(learned, '^(%d+):(%d+)$')
  if r then
    limit = tonumber(r)
    per = tonumber(p)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], per)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + per - now)
`;

/** KEYS[1] pause. ARGV: pause length in ms from Redis's now. Only ever extends a pause. */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > cur then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1]) + 1000) end
return untilMs
`;

type ScriptedRedis = IORedis & {
  rateAcquire(
    window: string,
    pause: string,
    budget: string,
    requests: number,
    perMs: number,
    member: string,
  ): Promise<number>;
  ratePause(pause: string, ms: number): Promise<number>;
};

/** Longest single wait, so an abort or a lifted pause is noticed soon. */
const MAX_WAIT_MS = 1000;
/** How long a stated budget is kept without being stated again (every answer states it). */
const LEARNED_TTL_MS = 60 * 60_000;
/**
 * A budget stated again unchanged is written to Redis again after this long: keeps its TTL, and undoes within a
 * minute another worker's write of a budget the vendor has since changed back. Not on every answer.
 */
const LEARNED_REFRESH_MS = 60_000;

export class RedisRateLimiter extends RateLimiter implements OnModuleDestroy {
  private readonly log = new Logger('RateLimiter');
  private readonly redis: ScriptedRedis;
  private readonly member = randomBytes(6).toString('hex');
  private seq = 0;
  /** This process's copy of pauses, so a 429 holds local callers even before Redis has heard of it. */
  private readonly localPauses = new Map<string, number>();
  /** Stated budgets this process last wrote, and when: Redis is written when one changes or needs its TTL renewed. */
  private readonly written = new Map<string, { value: string; at: number }>();

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    super();
    const redis = createRedis(url, RedisRole.Worker, 'syncline-rate-limiter');
    // defineCommand sends EVALSHA and falls back to EVAL, so a restarted Redis (empty script cache) still works.
    redis.defineCommand('rateAcquire', { numberOfKeys: 3, lua: ACQUIRE });
    redis.defineCommand('ratePause', { numberOfKeys: 1, lua: PAUSE });
    this.redis = redis as ScriptedRedis;
  }

  private keys(key: string): [string, string, string] {
    // The hash tag keeps the keys of one budget on one Redis Cluster slot, as a script requires.
    return [
      `${this.prefix}:rate:{${key}}:window`,
      `${this.prefix}:rate:{${key}}:pause`,
      `${this.prefix}:rate:{${key}}:budget`,
    ];
  }

  learn(key: string, budget: RateBudget): void {
    const value = `${Math.max(1, Math.floor(budget.requests))}:${Math.max(1, Math.floor(budget.perMs))}`;
    const last = this.written.get(key);
    const now = Date.now();
    if (last && last.value === value && now - last.at < LEARNED_REFRESH_MS) return;
    this.redis
      .set(this.keys(key)[2], value, 'PX', LEARNED_TTL_MS)
      // Remembered once written, so a failed write is tried again with the next answer.
      .then(() => this.written.set(key, { value, at: now }))
      .catch((err: Error) => this.log.warn(`sharing the budget of ${key} failed: ${err.message}`));
  }

  async acquire(key: string, budget: RateBudget, signal?: AbortSignal): Promise<void> {
    const [window, pause, learned] = this.keys(key);
    for (;;) {
      signal?.throwIfAborted();
      const local = (this.localPauses.get(key) ?? 0) - Date.now();
      const wait =
        local > 0
          ? local
          : await this.redis.rateAcquire(
              window,
              pause,
              learned,
              budget.requests,
              budget.perMs,
              `${this.member}:${++this.seq}`,
            );
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, Math.min(MAX_WAIT_MS, Math.max(1, wait))));
    }
  }

  pause(key: string, untilMs: number): void {
    const ms = Math.ceil(untilMs - Date.now());
    if (ms <= 0) return;
    this.localPauses.set(key, Math.max(this.localPauses.get(key) ?? 0, untilMs));
    this.redis
      .ratePause(this.keys(key)[1], ms)
      .catch((err: Error) => this.log.warn(`sharing a pause of ${key} failed: ${err.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    this.redis.disconnect();
  }
}

/** The limiter for this installation: shared through Redis when REDIS_URL is set, per process otherwise. */
export function rateLimiterFor(config: AppConfig): RateLimiter {
  const url = config.env.REDIS_URL;
  return url ? new RedisRateLimiter(url, config.env.QUEUE_PREFIX) : new InProcessRateLimiter();
}
