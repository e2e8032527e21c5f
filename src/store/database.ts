// Owns transactions. SQLite has one writer, so write transactions are serialized here; PostgreSQL transactions
// run concurrently and are retried on serialization failures, deadlocks and stale-version conflicts.
// The hot paths use plain parameterized SQL through this class; nothing a client sends is ever interpolated.
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { DataSource, QueryRunner } from 'typeorm';
import { poolSession, TableMaintenance } from './table-maintenance';
import { padInLists, pow2Pieces, toPg } from './statement-shapes';
import { writeGates, type WriteScope } from './write-gate';

export type Dialect = 'sqlite' | 'postgres';
export type Row = Record<string, any>;

/** A write based on a stale version; the transaction is retried from the top. */
export class StaleVersionError extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
    readonly expected: number,
  ) {
    super(`stale version of ${entity} ${id}: expected ${expected}`);
  }
}

export class ConflictRetriesExhaustedError extends Error {}

export interface Tx {
  readonly dialect: Dialect;
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a statement and returns the number of affected rows. */
  execute(sql: string, params?: unknown[]): Promise<number>;
  /** Multi-row INSERT in chunks that stay under the driver's parameter limit. */
  insertMany(table: string, columns: string[], rows: unknown[][], suffix?: string): Promise<void>;
}

// Serialization failure, deadlock, and unique violation: on PostgreSQL two transactions inserting the same key at
// once (two workers settling pushes of a customer a merge just moved) make one of them fail; the retry sees the row.
const RETRYABLE_PG_CODES = new Set(['40001', '40P01', '23505']);
// SQLite allows 32,766 parameters; PostgreSQL 65,535. Stay well below both.
const MAX_PARAMS = 30000;
/** Rows per PostgreSQL multi-row insert (one array parameter per column, so no parameter limit applies). */
const PG_INSERT_ROWS = 1000;

const WRITE_STATEMENT = /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i;

/** The statement as the driver gets it: numbered placeholders on PostgreSQL, size-classed lists on SQLite. */
function forDriver(dialect: Dialect, sql: string, params: unknown[]): { sql: string; params: unknown[] } {
  return dialect === 'postgres' ? { sql: toPg(sql), params } : padInLists(sql, params);
}

/**
 * PostgreSQL column types (`character varying(36)`, `integer`, …) by table, read from the catalog once per table
 * and process: a multi-row insert sends one array per column, cast to the column's type.
 */
class ColumnTypes {
  private readonly byTable = new Map<string, Promise<Map<string, string>>>();

  of(runner: QueryRunner, table: string): Promise<Map<string, string>> {
    let types = this.byTable.get(table);
    if (!types) {
      types = (
        runner.query(
          `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
          [table],
        ) as Promise<{ name: string; type: string }[]>
      ).then((rows) => {
        if (!rows.length) throw new Error(`insertMany: no table ${table}`);
        return new Map(rows.map((r) => [r.name, r.type]));
      });
      // A failed read (no such table yet, the transaction aborted meanwhile) is not remembered.
      types.catch(() => this.byTable.delete(table));
      this.byTable.set(table, types);
    }
    return types;
  }
}

class RunnerTx implements Tx {
  constructor(
    readonly dialect: Dialect,
    private readonly runner: QueryRunner,
    private readonly columnTypes: ColumnTypes,
  ) {}

  async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    const s = forDriver(this.dialect, sql, params);
    return (await this.runner.query(s.sql, s.params)) as T[];
  }

  async execute(sql: string, params: unknown[] = []): Promise<number> {
    const s = forDriver(this.dialect, sql, params);
    const result = await this.runner.query(s.sql, s.params, true);
    return result.affected ?? 0;
  }

  async insertMany(table: string, columns: string[], rows: unknown[][], suffix = ''): Promise<void> {
    if (!rows.length) return;
    if (this.dialect === 'postgres') return this.insertColumns(table, columns, rows, suffix);
    const perRow = columns.length;
    const chunk = Math.max(1, Math.min(500, Math.floor(MAX_PARAMS / perRow)));
    const tuple = `(${columns.map(() => '?').join(',')})`;
    const head = `INSERT INTO ${table} (${columns.join(',')}) VALUES `;
    // SQLite caches a prepared statement per text: power-of-two pieces keep the texts few (statement-shapes.ts).
    const pieces = pow2Pieces(rows.length, Math.min(256, chunk));
    for (const { start, size } of pieces) {
      const params: unknown[] = [];
      for (let i = start; i < start + size; i++) params.push(...rows[i]);
      // Straight to the driver: an insert has no IN list to pad, and scanning its text (up to ~30 KB) for one
      // showed in the profile.
      const sql = `${head}${Array.from({ length: size }, () => tuple).join(',')} ${suffix}`;
      await this.runner.query(sql, params, true);
    }
  }

  /**
   * PostgreSQL: `INSERT … SELECT * FROM unnest($1::type[], $2::type[], …)`, one array per column, in statements of
   * up to PG_INSERT_ROWS rows. A VALUES list of 500 rows binds thousands of parameters, and PostgreSQL plans that
   * list anew for every statement; arrays keep the statement one short text with a parameter per column (in a
   * one-worker scale_out run PostgreSQL's planning fell from 11.9 to 3.9 s, its CPU from ~80 to ~58 s).
   */
  private async insertColumns(
    table: string,
    columns: string[],
    rows: unknown[][],
    suffix: string,
  ): Promise<void> {
    const types = await this.columnTypes.of(this.runner, table);
    const arrays = columns.map((c, i) => {
      const type = types.get(c);
      if (!type) throw new Error(`insertMany: ${table} has no column ${c}`);
      return `CAST($${i + 1} AS ${type}[])`;
    });
    const sql = `INSERT INTO ${table} (${columns.join(',')}) SELECT * FROM unnest(${arrays.join(',')}) ${suffix}`;
    for (let start = 0; start < rows.length; start += PG_INSERT_ROWS) {
      const piece = rows.slice(start, start + PG_INSERT_ROWS);
      await this.runner.query(
        sql,
        columns.map((_, j) => piece.map((r) => r[j])),
        true,
      );
    }
  }
}

@Injectable()
export class Database implements OnModuleDestroy {
  private readonly log = new Logger(Database.name);
  readonly dialect: Dialect;
  /** PostgreSQL: analyzes and vacuums the tables as they change (see table-maintenance.ts). */
  readonly maintenance: TableMaintenance | null;
  private readonly columnTypes = new ColumnTypes();

  constructor(readonly dataSource: DataSource) {
    this.dialect = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
    // A connection of its own, outside any transaction: VACUUM cannot run inside one.
    this.maintenance = this.dialect === 'postgres' ? new TableMaintenance(poolSession(dataSource)) : null;
  }

  async onModuleDestroy(): Promise<void> {
    this.maintenance?.stop();
    await this.maintenance?.idle();
  }

  /**
   * Read outside a transaction. A write given here still goes through the SQLite writer queue as a transaction of
   * its own: run directly, it would join whatever transaction the shared connection has open at that moment (and
   * vanish with its rollback), and with the engine on its own thread it would bypass the write gate.
   */
  async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.dialect === 'sqlite' && WRITE_STATEMENT.test(sql))
      return this.transaction((tx) => tx.query<T>(sql, params));
    const s = forDriver(this.dialect, sql, params);
    return (await this.dataSource.query(s.sql, s.params)) as T[];
  }

  /**
   * Runs fn in one transaction; retries it on conflicts (PostgreSQL) up to `retries` times. On SQLite, an
   * `urgent` transaction (a webhook acknowledgement waits on it) goes ahead of every queued one, and `scope` names
   * the files it writes (the database, the webhook inbox beside it, or both; see data-source.ts): with the engine
   * on its own thread it waits only for the other thread's transactions on those files.
   */
  async transaction<T>(
    fn: (tx: Tx) => Promise<T>,
    retries = 20,
    options: { urgent?: boolean; scope?: WriteScope } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.dialect === 'sqlite')
          return await this.serialized(() => this.once(fn), options.urgent ?? false, options.scope ?? 'main');
        const result = await this.once(fn);
        this.maintenance?.touch();
        return result;
      } catch (err) {
        const code =
          (err as { driverError?: { code?: string }; code?: string }).driverError?.code ??
          (err as { code?: string }).code;
        const retryable =
          err instanceof StaleVersionError || (code !== undefined && RETRYABLE_PG_CODES.has(code));
        if (!retryable) throw err;
        if (attempt >= retries)
          throw new ConflictRetriesExhaustedError(
            `gave up after ${retries} conflict retries: ${(err as Error).message}`,
          );
        this.log.debug(`retrying transaction after conflict (${(err as Error).message})`);
        // Exponential back-off with full jitter: many writers on one hot row spread out instead of colliding again.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 5 * 2 ** attempt)));
      }
    }
  }

  /**
   * SQLite has one writer: transactions run one at a time. Urgent ones (a webhook acknowledgement waits on them)
   * go ahead of the queued ones, but never twice in a row while another waits: under a steady stream of deliveries
   * an always-first rule starved processing (a webhook's own apply waited seconds behind acknowledgements), so the
   * two queues take turns and each urgent transaction waits for at most one other. Before each, the event loop gets a
   * turn (better-sqlite3 is synchronous, so a chain of transactions would otherwise run as one long microtask chain
   * and hold back every incoming request until the whole chain is done).
   */
  private serialized<T>(work: () => Promise<T>, urgent: boolean, scope: WriteScope): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (urgent ? this.urgentQueue : this.writerQueue).push({ run: () => work().then(resolve, reject), scope });
      if (!this.writerBusy) this.nextWriter();
    });
  }

  private readonly writerQueue: { run: () => Promise<void>; scope: WriteScope }[] = [];
  private readonly urgentQueue: { run: () => Promise<void>; scope: WriteScope }[] = [];
  private writerBusy = false;
  private lastWasUrgent = false;

  private nextWriter(): void {
    this.writerBusy = true;
    setImmediate(() => {
      const urgent = this.urgentQueue.length > 0 && !(this.lastWasUrgent && this.writerQueue.length > 0);
      const item = urgent ? this.urgentQueue.shift() : this.writerQueue.shift();
      if (!item) {
        this.writerBusy = false;
        return;
      }
      this.lastWasUrgent = urgent;
      // With the engine on its own thread, the other thread's connection writes the same files: take turns, file
      // by file (the database's gate first, then the inbox's).
      const run = writeGates(item.scope).reduceRight<() => Promise<void>>(
        (inner, gate) => () => gate.run(inner),
        item.run,
      );
      void run().finally(() => this.nextWriter());
    });
  }

  private async once<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      try {
        const result = await fn(new RunnerTx(this.dialect, runner, this.columnTypes));
        await runner.commitTransaction();
        return result;
      } catch (err) {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        throw err;
      }
    } finally {
      await runner.release();
    }
  }
}
