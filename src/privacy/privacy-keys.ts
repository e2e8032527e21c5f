// Builds the cipher and the blind index from the environment. Without keys the service still starts (tests,
// the demo) on a published development key, loudly; in production that is refused.
import type { Env } from '../config/env.schema';
import { BlindIndex } from './blind-index';
import {
  DEV_BLIND_INDEX_KEY,
  DEV_KEY,
  DEV_KEY_ID,
  FieldCipher,
  KeyConfigError,
  parseKeys,
} from './field-cipher';

let warned = false;

function isProduction(env: Pick<Env, 'NODE_ENV'>): boolean {
  return env.NODE_ENV === 'production';
}

/**
 * `warn` hears, once per process, that the public development key is in use; a helper thread of a process that
 * has warned already (the detection thread) gives none. No logger is imported here: the thread loads this file,
 * and nothing of the application's graph.
 */
export function cipherFromEnv(
  env: Pick<Env, 'NODE_ENV' | 'SYNCLINE_ENCRYPTION_KEYS'>,
  warn?: (message: string) => void,
): FieldCipher {
  if (!env.SYNCLINE_ENCRYPTION_KEYS) {
    if (isProduction(env)) {
      throw new KeyConfigError(
        'SYNCLINE_ENCRYPTION_KEYS is required when NODE_ENV=production (the development key is public)',
      );
    }
    // Once per process: the CLI and tests build several apps.
    if (!warned && warn) {
      warned = true;
      warn(
        'SYNCLINE_ENCRYPTION_KEYS is not set: personal data is encrypted with the PUBLIC development key. Set real keys before storing real data.',
      );
    }
    return new FieldCipher([{ id: DEV_KEY_ID, key: DEV_KEY }]);
  }
  const keys = parseKeys(env.SYNCLINE_ENCRYPTION_KEYS);
  if (isProduction(env) && keys.some((k) => k.key.equals(DEV_KEY))) {
    throw new KeyConfigError(
      'SYNCLINE_ENCRYPTION_KEYS contains the public development key, refused when NODE_ENV=production',
    );
  }
  return new FieldCipher(keys);
}

/** @param memo digests the index remembers (see BlindIndex) */
export function blindIndexFromEnv(
  env: Pick<Env, 'NODE_ENV' | 'SYNCLINE_BLIND_INDEX_KEY'>,
  memo?: number,
): BlindIndex {
  if (!env.SYNCLINE_BLIND_INDEX_KEY) {
    if (isProduction(env))
      throw new KeyConfigError('SYNCLINE_BLIND_INDEX_KEY is required when NODE_ENV=production');
    return new BlindIndex(DEV_BLIND_INDEX_KEY, memo);
  }
  const key = Buffer.from(env.SYNCLINE_BLIND_INDEX_KEY, 'base64');
  if (key.length < 32)
    throw new KeyConfigError(
      `SYNCLINE_BLIND_INDEX_KEY must be at least 32 bytes (base64), got ${key.length}`,
    );
  if (isProduction(env) && key.equals(DEV_BLIND_INDEX_KEY))
    throw new KeyConfigError('SYNCLINE_BLIND_INDEX_KEY is the public development key');
  return new BlindIndex(key, memo);
}

export function extraPiiFields(env: Pick<Env, 'SYNCLINE_PII_FIELDS'>): string[] {
  return env.SYNCLINE_PII_FIELDS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
