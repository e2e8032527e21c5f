// Destination rows by when they were last pushed. The after-run read-back samples up to `reconcile.sample` of the
// rows a run pushed, in customer order: without this index it walked the destination's rows in customer order and
// skipped those pushed earlier, ~sample × base ÷ pushed rows of them (~23,000 rows for a 1,000-change incremental
// in a 100,000 base, ten times that in 1,000,000), so an incremental run grew with the base.
// Not covering: with customer_id and external_id in it, the planner preferred it to the primary key for lookups by
// customer (reading every row of the destination from the index).
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DestinationPushed1763801300000 implements MigrationInterface {
  name = 'DestinationPushed1763801300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX "ix_destination_pushed" ON "destination_state" ("connection", "object", "pushed_at")',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "ix_destination_pushed"');
  }
}
