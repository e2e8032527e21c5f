// The duplicate-detection queue (`identity_pending`): who changed and needs checking, appended in the transaction of
// the change (a page, a merge, a batch giving rows back), so a crash loses nothing. One row per queuing, never
// merged with a row already queued: that row may be in a detection batch right now (locked on PostgreSQL), and
// waiting on it deadlocked against the batch's merges. A customer queued twice is detected once.
import type { Actor } from '../audit/audit.types';
import type { Tx } from '../store/database';

/** Appends `[customer id, actor whose change queued it]` entries to the queue, in the caller's transaction. */
export async function queueForDetection(
  tx: Tx,
  entries: Iterable<readonly [string, Actor]>,
  now: string,
): Promise<void> {
  await tx.insertMany(
    'identity_pending',
    ['customer_id', 'actor_type', 'actor_id', 'queued_at'],
    [...entries].map(([id, a]) => [id, a.type, a.id.slice(0, 128), now]),
  );
}
