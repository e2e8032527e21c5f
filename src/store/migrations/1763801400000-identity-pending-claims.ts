// Claims on customers awaiting duplicate detection (PostgreSQL). A batch there runs in two transactions: the first
// takes pending rows, writes the touched customers' block keys and commits; the second reads neighbours, scores and
// writes pairs and merges. Keys committed before any neighbour is read is what lets batches of several workers run
// side by side without missing each other (of two batches sharing a key, the later reader sees the earlier
// writer's keys), where before a cluster-wide lock made them take turns. Between the two transactions the rows
// stay queued, marked with who took them and until when; a worker that dies in between leaves a claim that
// expires, and another takes the rows again. SQLite (one writer) never claims.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IdentityPendingClaims1763801400000 implements MigrationInterface {
  name = 'IdentityPendingClaims1763801400000';

  async up(q: QueryRunner): Promise<void> {
    // Plain ALTERs on both dialects (TypeORM rebuilds a SQLite table to add a column). Types as columns.ts has them.
    await q.query('ALTER TABLE "identity_pending" ADD COLUMN "claimed_by" varchar(64)');
    await q.query('ALTER TABLE "identity_pending" ADD COLUMN "claimed_until" varchar(30)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "identity_pending" DROP COLUMN "claimed_until"');
    await q.query('ALTER TABLE "identity_pending" DROP COLUMN "claimed_by"');
  }
}
