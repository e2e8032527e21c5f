// Pages of a sync run handed to the worker cluster: the run's reader stores each page it reads here (records
// sealed) and enqueues an apply-page job; any worker applies it and marks it applied in the same transaction, so
// a page redelivered after a worker died is applied once. The reader advances the sync's cursor over the pages
// applied without a gap.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { int, str, text, ts } from './columns';

export class RunPages1763800600000 implements MigrationInterface {
  name = 'RunPages1763800600000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'run_pages',
        columns: [
          { ...str('run_id', 36), isPrimary: true },
          { ...int('seq'), isPrimary: true },
          str('sync_id'),
          text('cursor'),
          str('status', 16),
          text('payload'),
          text('counts'),
          text('error'),
          ts('created_at'),
          ts('applied_at', true),
          str('applied_by', 160, true),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('run_pages');
  }
}
