// Everything the store holds as text, for "is this value anywhere in plain text" assertions: the SQLite files
// byte for byte (after a WAL checkpoint), or every PostgreSQL table of the schema rendered as text.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatabaseTarget } from '../../src/config/env.schema';
import { inboxFileOf } from '../../src/store/data-source';
import type { Database } from '../../src/store/database';

export async function storeText(db: Database, target: DatabaseTarget): Promise<string> {
  if (target.type === 'sqlite') {
    await db.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const dir = path.dirname(target.file);
    // The database and the webhook inbox beside it, each with its -wal and -shm.
    const files = [target.file, inboxFileOf(target.file)].map((f) => path.basename(f));
    return fs
      .readdirSync(dir)
      .filter((f) => files.some((base) => f.startsWith(base)))
      .map((f) => fs.readFileSync(path.join(dir, f)).toString('latin1'))
      .join('\n')
      .toLowerCase();
  }
  const tables = await db.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = ?',
    [target.schema, 'BASE TABLE'],
  );
  const parts: string[] = [];
  for (const t of tables) {
    for (const r of await db.query(`SELECT t::text AS row FROM "${t.table_name}" t`)) parts.push(r.row);
  }
  return parts.join('\n').toLowerCase();
}
