// Customers awaiting duplicate detection, in queue order and by the actor that changed them. Detection takes the
// oldest batch (ORDER BY queued_at) and a webhook batch detects its own (WHERE actor); without these, both read
// and sorted every pending row: ~56,000 in the middle of a 100,000-contact full sync, once per batch.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IdentityPendingQueue1763800900000 implements MigrationInterface {
  name = 'IdentityPendingQueue1763800900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX "ix_identity_pending_queue" ON "identity_pending" ("queued_at", "customer_id")',
    );
    await q.query(
      'CREATE INDEX "ix_identity_pending_actor" ON "identity_pending" ("actor_type", "actor_id", "queued_at")',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "ix_identity_pending_actor"');
    await q.query('DROP INDEX "ix_identity_pending_queue"');
  }
}
