// Customers merged into a survivor, found by survivor: settling a push looks for a merged-away customer to
// carry the delete of a record left behind at a vendor. Partial, so the index holds merged customers only
// (a handful) rather than every customer.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MergedCustomers1763800700000 implements MigrationInterface {
  name = 'MergedCustomers1763800700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX "ix_customers_merged_into" ON "customers" ("merged_into") WHERE "merged_into" IS NOT NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "ix_customers_merged_into"');
  }
}
