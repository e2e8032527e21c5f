// Test databases: a temporary SQLite file by default; a fresh PostgreSQL schema per suite when DATABASE_URL is
// a postgres:// URL (as .ci/run sets it). Suites clean up after themselves.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import type { DatabaseTarget } from '../../src/config/env.schema';

export function testDatabaseTarget(): DatabaseTarget {
  const url = process.env.DATABASE_URL;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    return {
      type: 'postgres',
      url,
      schema: `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`,
    };
  }
  return sqliteTestTarget();
}

/** A temporary SQLite file, whatever DATABASE_URL says (suites about what only a SQLite file has). */
export function sqliteTestTarget(): DatabaseTarget {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-test-'));
  return { type: 'sqlite', file: path.join(dir, 'test.sqlite') };
}

/** Environment for AppConfig pointing at the target (DATABASE_URL + DATABASE_SCHEMA). */
export function testDatabaseEnv(target: DatabaseTarget): Record<string, string> {
  return target.type === 'sqlite'
    ? { DATABASE_URL: `sqlite:${target.file}` }
    : { DATABASE_URL: target.url, DATABASE_SCHEMA: target.schema! };
}

export async function dropTestDatabase(target: DatabaseTarget): Promise<void> {
  if (target.type === 'sqlite') {
    fs.rmSync(path.dirname(target.file), { recursive: true, force: true });
    return;
  }
  const ds = new DataSource({ type: 'postgres', url: target.url });
  await ds.initialize();
  try {
    await ds.query(`DROP SCHEMA IF EXISTS "${target.schema}" CASCADE`);
  } finally {
    await ds.destroy();
  }
}

export const onPostgres = () => /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');
