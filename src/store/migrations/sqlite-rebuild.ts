// SQLite cannot change how a table is stored in place: the table is made again under a new name, filled in key
// order, swapped in, and its indexes are made again. A no-op on PostgreSQL.
import type { QueryRunner } from 'typeorm';

export interface SqliteTableShape {
  name: string;
  /** Column and primary key definitions, as in CREATE TABLE. */
  definition: string;
  columns: string[];
  /** Primary key columns: the order rows are copied in. */
  key: string[];
  /** CREATE INDEX statements to run again once the table is in place. */
  indexes: string[];
}

export async function rebuildSqliteTable(q: QueryRunner, t: SqliteTableShape, suffix: string): Promise<void> {
  if (q.connection.options.type !== 'better-sqlite3') return;
  const next = `${t.name}_next`;
  const cols = t.columns.map((c) => `"${c}"`).join(', ');
  await q.query(`CREATE TABLE "${next}" (${t.definition})${suffix}`);
  await q.query(
    `INSERT INTO "${next}" (${cols}) SELECT ${cols} FROM "${t.name}" ORDER BY ${t.key.map((c) => `"${c}"`).join(', ')}`,
  );
  await q.query(`DROP TABLE "${t.name}"`);
  await q.query(`ALTER TABLE "${next}" RENAME TO "${t.name}"`);
  for (const index of t.indexes) await q.query(index);
}
