// AES-256-GCM for single values at rest. Each value carries the id of the key that sealed it, so keys can rotate
// while old values stay readable: `enc:v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64url parts).
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

export const TOKEN_PREFIX = 'enc:v1:';
const IV_BYTES = 12;
// One random buffer serves this many IVs: randomBytes per value costs more than the encryption itself.
const IV_POOL_SIZE = 4096;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const TOKEN_KEY_IDS = /enc:v1:([A-Za-z0-9_-]{1,32}):/g;

/** Development-only key: public by construction, so anything it seals is readable by anyone with the source. */
export const DEV_KEY_ID = 'dev';
export const DEV_KEY = createHash('sha256')
  .update('syncline development key - never use in production')
  .digest();
export const DEV_BLIND_INDEX_KEY = createHash('sha256')
  .update('syncline development blind index key')
  .digest();

export class KeyConfigError extends Error {}

export interface ParsedKey {
  id: string;
  key: Buffer;
}

/** Parses `<keyId>:<base64>` entries; the first is the current key. */
export function parseKeys(spec: string): ParsedKey[] {
  const out: ParsedKey[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf(':');
    const id = part.slice(0, i);
    const key = Buffer.from(part.slice(i + 1), 'base64');
    if (i <= 0 || !KEY_ID.test(id)) throw new KeyConfigError(`SYNCLINE_ENCRYPTION_KEYS: bad key id "${id}"`);
    if (key.length !== 32)
      throw new KeyConfigError(
        `SYNCLINE_ENCRYPTION_KEYS: key "${id}" must be 32 bytes (base64), got ${key.length}`,
      );
    if (out.some((k) => k.id === id))
      throw new KeyConfigError(`SYNCLINE_ENCRYPTION_KEYS: key id "${id}" appears twice`);
    out.push({ id, key });
  }
  if (!out.length) throw new KeyConfigError('SYNCLINE_ENCRYPTION_KEYS: no key given');
  return out;
}

export class UnknownKeyError extends Error {}

export class FieldCipher {
  readonly currentKeyId: string;
  private readonly keys = new Map<string, KeyObject>();
  private ivPool = Buffer.alloc(0);
  private ivOffset = 0;

  constructor(keys: ParsedKey[]) {
    if (!keys.length) throw new KeyConfigError('at least one encryption key is needed');
    // KeyObjects are imported once; no per-value key derivation.
    for (const k of keys) this.keys.set(k.id, createSecretKey(k.key));
    this.currentKeyId = keys[0].id;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  static isToken(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(TOKEN_PREFIX);
  }

  /** Key ids of every token inside a text (a JSON document may hold several). */
  static keyIdsIn(text: string): Set<string> {
    const out = new Set<string>();
    for (const m of text.matchAll(TOKEN_KEY_IDS)) out.add(m[1]);
    return out;
  }

  encrypt(plaintext: string): string {
    const iv = this.nextIv();
    const c = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return `${TOKEN_PREFIX}${this.currentKeyId}:${iv.toString('base64url')}:${c.getAuthTag().toString('base64url')}:${ct.toString('base64url')}`;
  }

  decrypt(token: string): string {
    const parts = token.slice(TOKEN_PREFIX.length).split(':');
    if (!token.startsWith(TOKEN_PREFIX) || parts.length !== 4) throw new Error('not an encrypted value');
    const key = this.keys.get(parts[0]);
    if (!key) throw new UnknownKeyError(`value sealed with key "${parts[0]}", which is not configured`);
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(parts[1], 'base64url'));
    d.setAuthTag(Buffer.from(parts[2], 'base64url'));
    return Buffer.concat([d.update(Buffer.from(parts[3], 'base64url')), d.final()]).toString('utf8');
  }

  private nextIv(): Buffer {
    if (this.ivOffset + IV_BYTES > this.ivPool.length) {
      this.ivPool = randomBytes(IV_BYTES * IV_POOL_SIZE);
      this.ivOffset = 0;
    }
    const iv = this.ivPool.subarray(this.ivOffset, this.ivOffset + IV_BYTES);
    this.ivOffset += IV_BYTES;
    return iv;
  }
}
