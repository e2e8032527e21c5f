// Builds TypeORM DataSource options for the configured database. Schema changes only through migrations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DatabaseTarget } from '../config/env.schema';
import { ENTITIES, MIGRATIONS } from './schema';

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
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
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

/** Creates, initializes and migrates a DataSource (creating the PostgreSQL schema when one is named). */
export async function openDataSource(options: DataSourceOptions): Promise<DataSource> {
  if (options.type === 'postgres' && options.schema) {
    const bootstrap = new DataSource({ type: 'postgres', url: options.url });
    await bootstrap.initialize();
    try {
      await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
    } finally {
      await bootstrap.destroy();
    }
  }
  const ds = new DataSource(options);
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
