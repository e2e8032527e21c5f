// Builds TypeORM DataSource options for the configured database. Schema changes only through migrations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DatabaseTarget } from '../config/env.schema';
import { ENTITIES, MIGRATIONS } from './schema';

/**
 * The file of the webhook inbox beside a SQLite database: `syncline.sqlite` → `syncline.inbox.sqlite`. Every
 * connection attaches it as schema `inbox`; its one table, `webhook_inbox`, is found by its plain name. SQLite has
 * one writer per file, and an acknowledgement only waits for the write that stores its delivery: in a file of its
 * own, that write never queues behind an engine transaction on the database (a page of a sync, a detection batch),
 * which held acknowledgements up to ~50 ms. The two files are one store: back them up and move them together.
 */
export function inboxFileOf(file: string): string {
  if (file === ':memory:') return file;
  const ext = path.extname(file);
  return ext ? `${file.slice(0, -ext.length)}.inbox${ext}` : `${file}.inbox`;
}

export function dataSourceOptions(target: DatabaseTarget): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: false,
  };
  if (target.type === 'sqlite') {
    if (target.file !== ':memory:')
      fs.mkdirSync(path.dirname(path.resolve(target.file)), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: target.file,
      statementCacheSize: 500,
      // One writer: WAL lets readers run beside it; NORMAL sync is durable at checkpoints and safe in WAL mode.
      prepareDatabase: (db: {
        pragma(s: string): unknown;
        prepare(sql: string): { run(...params: unknown[]): unknown };
      }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.prepare('ATTACH DATABASE ? AS inbox').run(inboxFileOf(target.file));
        db.pragma('inbox.journal_mode = WAL');
        db.pragma('inbox.synchronous = NORMAL');
        db.pragma('busy_timeout = 10000');
        db.pragma('cache_size = -16384');
        // Checkpoints (the WAL copied back into the database, with an fsync each side) every ~40 MB of WAL
        // instead of every 4 MB: a bulk load spent a quarter of its SQLite time in checkpoints at the default.
        db.pragma('wal_autocheckpoint = 10000');
        db.pragma('temp_store = MEMORY');
      },
    };
  }
  return {
    ...common,
    type: 'postgres',
    url: target.url,
    schema: target.schema,
    extra: {
      max: 10,
      ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
    },
  };
}

const log = new Logger('Database');

/** How long a process waits for another one's migrations of the same database before it gives up. */
export const MIGRATION_LOCK_WAIT_MS = 15 * 60_000;

/**
 * The file beside a SQLite database that processes lock, one at a time, while they migrate it: `syncline.sqlite` →
 * `syncline.sqlite-migrating` (empty; left in place, since a lock file removed while another process waits on it
 * would let a third take a lock of its own).
 */
export function migrationLockFileOf(file: string): string {
  return `${file}-migrating`;
}

/**
 * Creates, initializes and migrates a DataSource (creating the PostgreSQL schema when one is named).
 *
 * Processes sharing a database migrate it one at a time: on PostgreSQL per schema, with a session-level advisory
 * lock on a connection of its own; on a SQLite file, with an exclusive lock on the file beside it
 * (migrationLockFileOf). Either is released when the migrations are done or the process dies. TypeORM's runner takes
 * no lock: workers booted together after an upgrade (or `syncline serve` and a CLI command on one SQLite file) each
 * found the same migrations pending and ran them at once. A migration that rebuilds a table could then run again
 * after later ones had altered the table, and drop what they added (one run of the Redis suite was left without
 * identity_pending's claims columns), and two `CREATE TABLE` or `CREATE SCHEMA IF NOT EXISTS` at once fail one of
 * the processes (test/store/concurrent-migrations.db.spec.ts, test/store/concurrent-migrations.spec.ts).
 */
export async function openDataSource(options: DataSourceOptions): Promise<DataSource> {
  if (options.type === 'better-sqlite3') {
    const file = options.database;
    if (file === ':memory:') return migrated(new DataSource(options));
    const { default: Sqlite } = await import('better-sqlite3');
    const lock = new Sqlite(migrationLockFileOf(file), { timeout: 0 });
    try {
      const busy = (err: unknown) => (err as { code?: string }).code === 'SQLITE_BUSY';
      try {
        lock.exec('BEGIN EXCLUSIVE');
      } catch (err) {
        if (!busy(err)) throw err;
        log.warn(`waiting for another process to finish migrating ${file}`);
        lock.pragma(`busy_timeout = ${MIGRATION_LOCK_WAIT_MS}`);
        try {
          // Waits (this thread blocked: nothing else runs while the application boots) for the other's turn to end.
          lock.exec('BEGIN EXCLUSIVE');
        } catch (again) {
          if (!busy(again)) throw again;
          throw new Error(
            `another process has been migrating ${file} for ${MIGRATION_LOCK_WAIT_MS / 60_000} minutes: ${(again as Error).message}`,
          );
        }
      }
      return await migrated(new DataSource(options));
    } finally {
      // Closing the connection ends its transaction, which releases the lock.
      lock.close();
    }
  }
  if (options.type !== 'postgres') return migrated(new DataSource(options));
  const schema = options.schema ?? 'public';
  const lock = new DataSource({ type: 'postgres', url: options.url, extra: { max: 1 } });
  await lock.initialize();
  try {
    const key = `${schema}:syncline-migrations`;
    const [got] = await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
    if (!got.ok) {
      log.warn(`waiting for another process to finish migrating schema ${schema}`);
      await lock.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    }
    if (options.schema) await lock.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
    return await migrated(new DataSource(options));
  } finally {
    // Destroying the connection ends its session, which releases the lock.
    await lock.destroy();
  }
}

async function migrated(ds: DataSource): Promise<DataSource> {
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  return ds;
}
