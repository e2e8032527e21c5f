// Pending outbox rows by due time. The scheduler asks every two seconds which destinations have due rows, and
// progress views count pending rows; without this both scanned the whole outbox (one row per customer and
// destination: hundreds of thousands) on the event loop. Partial, so it holds only the rows still to send.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class PendingOutbox1763800800000 implements MigrationInterface {
  name = 'PendingOutbox1763800800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX "ix_outbox_pending" ON "outbox" ("connection", "object", "next_attempt_at") WHERE "status" = \'pending\'',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "ix_outbox_pending"');
  }
}
