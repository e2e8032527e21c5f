// Owns the process environment schema: validated once at boot, fails fast naming the bad variable.
// Nothing else in the code reads process.env directly.
import * as path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

export const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * `syncline worker` has no HTTP API; with this set it answers `GET /health` (database and job queue reachable,
   * not shutting down) and `GET /health/live` on this port, for a supervisor's readiness and liveness probes.
   */
  WORKER_HEALTH_PORT: port.optional(),
  DATABASE_URL: z
    .string()
    .default(`sqlite:${path.join('data', 'syncline.sqlite')}`)
    .refine((v) => /^(sqlite:|postgres(ql)?:\/\/)/.test(v), {
      message: 'must start with sqlite:<file> (or sqlite::memory:) or postgres://',
    }),
  /** Schema for PostgreSQL tables; tests use a fresh one per suite. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lowercase SQL identifier')
    .optional(),
  SYNCLINE_CONFIG: z.string().default('syncline.yaml'),
  /** Comma-separated API tokens for the admin API. Kept only as SHA-256 hashes after boot. */
  SYNCLINE_API_TOKENS: z.string().default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Key prefix of the BullMQ queues and the shared rate limiter: one installation per prefix on a Redis. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, dot, dash or underscore')
    .default('syncline'),
  /** BullMQ job lock: a job whose worker died is handed to another worker after about this long. */
  QUEUE_LOCK_MS: z.coerce.number().int().min(1000).default(30000),
  /** Number of audit chain partitions; writers append to one partition per transaction. */
  AUDIT_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(8),
  /** Max request body size for every endpoint (express "limit" syntax). */
  /** Outbound retries: attempts before a record is dead-lettered, and the back-off curve. */
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(6),
  OUTBOX_BASE_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  OUTBOX_MAX_DELAY_MS: z.coerce.number().int().min(0).default(300000),
  /**
   * Outbound batches a drainer keeps in flight per destination: the next batch is prepared and sent while the
   * vendor works on the previous one (1 = one at a time).
   */
  OUTBOX_PUSH_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Reconciliation alerts: drift share and outbound failure share above which an alert is raised. */
  RECONCILE_DRIFT_THRESHOLD: z.coerce.number().min(0).max(1).default(0.01),
  RECONCILE_FAILURE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.05),
  ALERT_WEBHOOK_URL: z.url().optional(),
  /** Email normalization rules for identity matching: comma-separated from case, whitespace, gmail-dots, plus-tags. */
  SYNCLINE_EMAIL_RULES: z
    .string()
    .default('case,whitespace')
    .refine(
      (v) =>
        v
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean)
          .every((r) => ['case', 'whitespace', 'gmail-dots', 'plus-tags'].includes(r)),
      {
        message: 'must be a comma-separated list of case, whitespace, gmail-dots, plus-tags',
      },
    ),
  /**
   * Connector ids to load (comma-separated); default: every folder under connectors/. Their mappings are the only
   * ones read. A deployment that syncs two vendors need not load the others.
   */
  SYNCLINE_CONNECTORS: z
    .string()
    .optional()
    .transform((v) =>
      v === undefined || v.trim() === ''
        ? undefined
        : v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
    ),
  /** Fuzzy duplicate detection: off, review (queue only) or auto (merge above the threshold, queue above the floor). */
  SYNCLINE_IDENTITY_MODE: z.enum(['off', 'review', 'auto']).default('auto'),
  SYNCLINE_MERGE_AUTO_THRESHOLD: z.coerce.number().min(0).max(1).default(0.92),
  SYNCLINE_MERGE_REVIEW_FLOOR: z.coerce.number().min(0).max(1).default(0.75),
  /** "production" makes the privacy module refuse the built-in development encryption key. */
  NODE_ENV: z.string().optional(),
  /** Field-encryption keys, `<keyId>:<base64 of 32 bytes>` comma-separated; the first encrypts, all decrypt. */
  SYNCLINE_ENCRYPTION_KEYS: z
    .string()
    .regex(
      /^\s*[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]+\s*(,\s*[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]+\s*)*$/,
      'must be a comma list of <keyId>:<base64 32-byte key>',
    )
    .optional(),
  /** HMAC key (base64, at least 32 bytes) of the email blind index. */
  SYNCLINE_BLIND_INDEX_KEY: z.string().min(1).optional(),
  /** Extra canonical fields to encrypt at rest beyond email, phone and names (comma list, e.g. custom.ssn). */
  SYNCLINE_PII_FIELDS: z.string().default(''),
  /** How often the erasure sweep retries vendor deletions (0 turns the background sweep off). */
  ERASURE_SWEEP_MS: z.coerce.number().int().min(0).default(5000),
  /** How long a sync run's lease lasts without renewal (a killed process blocks its sync at most this long). */
  SYNCLINE_LEASE_MS: z.coerce.number().int().min(1000).default(60000),
  /**
   * Background work in this process: cron schedules, the outbox/inbox sweep and job handlers. The CLI turns it off
   * for one-shot commands, so `audit verify` never pushes records to vendors as a side effect.
   */
  SYNCLINE_BACKGROUND_JOBS: z.enum(['on', 'off']).default('on'),
  /**
   * The engine (jobs, schedules, sweeps) on a thread of its own, so webhook acknowledgements and API requests never
   * wait for it. `auto`: on for `syncline serve` with a SQLite file and no REDIS_URL (BullMQ workers are processes
   * already), off elsewhere (CLI, tests, embedding).
   */
  SYNCLINE_ENGINE_THREAD: z.enum(['auto', 'on', 'off']).default('auto'),
  /**
   * Duplicate detection's reading and scoring on a thread of its own beside the engine (the engine writes what it
   * plans: whole batches on a SQLite file, the scoring half of each batch on PostgreSQL). It costs ~20-40 MB of peak
   * memory and some CPU for the hand-over, and gains where a core is free for it: `auto` uses it with a SQLite file
   * on 2 or more cores (AUTO_THREAD_CORES) for a backlog of 4,000 or more customers (AUTO_THREAD_BACKLOG: a full
   * sync, not an incremental or a webhook batch), and not on PostgreSQL (measured no faster there); `on` / `off`
   * force it.
   */
  SYNCLINE_DETECTION_THREAD: z.enum(['auto', 'on', 'off']).default('auto'),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must look like 1mb or 512kb')
    .default('1mb'),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

/** Parses the environment or throws a ConfigError whose message names every bad variable. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  return result.data;
}

export type DatabaseTarget =
  { type: 'sqlite'; file: string } | { type: 'postgres'; url: string; schema?: string };

export function databaseTarget(env: Pick<Env, 'DATABASE_URL' | 'DATABASE_SCHEMA'>): DatabaseTarget {
  if (env.DATABASE_URL.startsWith('sqlite:')) {
    return { type: 'sqlite', file: env.DATABASE_URL.slice('sqlite:'.length) || ':memory:' };
  }
  return { type: 'postgres', url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA };
}
