// Pending outbox rows of a destination in id order: the order a drain sends them in. Its selection
// (OutboxService.nextBatch) read every due pending row of the destination through ix_outbox_due or
// ix_outbox_pending and sorted them by id for each batch of 500: during a full sync, where tens of thousands wait
// for duplicate detection, ~20 ms a call on SQLite at 100,000 contacts and up to ~55 ms on PostgreSQL (whose planner
// walked the primary key past every row already sent instead). With this index the selection walks pending rows in
// id order and stops at its limit. Partial, so it holds only the rows still to send.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OutboxPendingById1763801600000 implements MigrationInterface {
  name = 'OutboxPendingById1763801600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX "ix_outbox_pending_id" ON "outbox" ("connection", "object", "id") WHERE "status" = \'pending\'',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "ix_outbox_pending_id"');
  }
}
