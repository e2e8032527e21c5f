// The audit chain's hashing. An entry's hash covers its metadata and a salted digest of its payload, never the
// payload itself: erasing a person's values (and the salt) later leaves every hash verifiable.
import { createHash } from 'node:crypto';
import { stableStringify } from '../common/stable-json';

export const GENESIS_HASH = '0'.repeat(64);

export function payloadDigest(salt: string, payloadJson: string): string {
  return createHash('sha256').update(salt).update('\n').update(payloadJson).digest('hex');
}

export interface ChainedFields {
  partition: number;
  pseq: number;
  at: string;
  actorType: string;
  actorId: string;
  entityType: string;
  entityId: string;
  action: string;
  correlationId: string | null;
  digest: string;
  prevHash: string;
}

export function entryHash(e: ChainedFields): string {
  return createHash('sha256')
    .update(
      stableStringify([
        e.prevHash,
        e.partition,
        e.pseq,
        e.at,
        e.actorType,
        e.actorId,
        e.entityType,
        e.entityId,
        e.action,
        e.correlationId,
        e.digest,
      ]),
    )
    .digest('hex');
}
