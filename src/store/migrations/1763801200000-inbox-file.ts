// SQLite: the webhook inbox moves into its own file, attached to every connection as schema `inbox` (see
// inboxFileOf in data-source.ts for why). Its table and index are created there as they were in the database,
// rows are copied, and the database's copy is dropped; every statement names the table plainly and SQLite finds it
// in the attached file. A rerun after a crash part-way is harmless: the create is IF NOT EXISTS and the copy skips
// rows already there. PostgreSQL keeps the table where it is (it has no single-writer lock to wait behind).
import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'webhook_inbox';

async function move(q: QueryRunner, from: string, to: string): Promise<void> {
  const objects = (await q.query(
    `SELECT type, name, sql FROM ${from}.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'table' DESC`,
    [TABLE],
  )) as { type: string; name: string; sql: string }[];
  if (!objects.length) return;
  for (const o of objects) {
    // `CREATE TABLE "webhook_inbox" (…)` → `CREATE TABLE IF NOT EXISTS inbox."webhook_inbox" (…)`.
    const head = new RegExp(`^CREATE (TABLE|INDEX) ("?${o.name}"?)`, 'i');
    if (!head.test(o.sql)) throw new Error(`unexpected schema for ${o.name}: ${o.sql}`);
    await q.query(
      o.sql.replace(head, (_m, kind: string, name: string) => `CREATE ${kind} IF NOT EXISTS ${to}.${name}`),
    );
  }
  await q.query(`INSERT OR IGNORE INTO ${to}.${TABLE} SELECT * FROM ${from}.${TABLE}`);
  await q.query(`DROP TABLE ${from}.${TABLE}`);
}

async function hasInbox(q: QueryRunner): Promise<boolean> {
  if (q.connection.options.type !== 'better-sqlite3') return false;
  const dbs = (await q.query('PRAGMA database_list')) as { name: string }[];
  return dbs.some((d) => d.name === 'inbox');
}

export class InboxFile1763801200000 implements MigrationInterface {
  name = 'InboxFile1763801200000';

  async up(q: QueryRunner): Promise<void> {
    if (await hasInbox(q)) await move(q, 'main', 'inbox');
  }

  async down(q: QueryRunner): Promise<void> {
    if (await hasInbox(q)) await move(q, 'inbox', 'main');
  }
}
