// PostgreSQL upkeep of Syncline's own tables while they change: planner statistics (ANALYZE) and dead rows (VACUUM).
//
// Statistics. The planner picks index or sequential scans from each table's statistics (pg_statistic, written by
// ANALYZE). A full sync into a fresh schema grows every table from nothing, and until the tables are analyzed the
// planner estimates a lookup of 500 ids (`merged_into IN (…)`, `customer_id IN (…)`) as matching most rows, so it
// scans the whole table: in a 60,000-contact probe one such lookup took 13 ms where the index answers in ~1 ms, and
// the cost grew with the table for the whole run.
//
// Dead rows. The queue tables churn: every customer passes through identity_pending (inserted, then deleted once
// detected), and every outbox row is updated when it is sent. Each such change leaves a dead row that only VACUUM
// reclaims; until then every index scan of the table steps over them. In a 100,000-contact scale_out run with no
// vacuum, identity_pending held ~800 live rows and 167,000 dead ones, and the push selection (which checks it for
// every pending outbox row) took 26.7 s of PostgreSQL's 105 s of execution.
//
// Autovacuum does both, but at most once per naptime (one minute by default), and not at all where it is turned
// off (as on this project's CI machine). So after its transactions Syncline checks, at most every CHECK_MS, which
// of its tables changed by more than their size since their last analysis, or hold more dead rows than a quarter
// of their live ones, and analyzes or vacuums those. The thresholds sit above autovacuum's defaults:
// where autovacuum keeps up, its runs reset the same counters and nothing is left to do here.
//
// One process of a cluster does it at a time (a session-level advisory lock per schema, on a connection of its own
// outside any transaction, since VACUUM cannot run inside one); the others skip that check. Every statement uses
// SKIP_LOCKED (PostgreSQL 12 and later), so a table another session holds (autovacuum's VACUUM, a migration) is
// left for the next check rather than waited for: waiting would also make PostgreSQL cancel an autovacuum.
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** How often a process looks at the counters at most. */
const CHECK_MS = 5_000;
/**
 * A table is analyzed again once this many rows changed, plus ANALYZE_FRACTION of its rows: a table that only grows
 * is analyzed each time it doubles. Between analyses the planner scales its row estimates by the table's current
 * size; what matters is that no table is left with none (an ANALYZE of a 30,000-row sample of a wide table costs
 * ~250 ms of PostgreSQL's CPU, and at a quarter a 100,000-contact sync spent ~12 s of it analyzing).
 */
const ANALYZE_BASE = 1_000;
const ANALYZE_FRACTION = 1;
/** A table is vacuumed once it holds this many dead rows, plus VACUUM_FRACTION of its live rows. */
const VACUUM_BASE = 2_000;
const VACUUM_FRACTION = 0.25;
/** The advisory lock key: one maintainer per schema across the cluster. */
const LOCK_KEY = "hashtext(current_schema() || ':syncline-maintenance')";

/** A catalog name as a quoted identifier. */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface MaintainedTable {
  table: string;
  /** Rows changed since the table's last analysis. */
  changed: number;
  /** Dead rows (left by updates and deletes) not yet reclaimed. */
  dead: number;
  rows: number;
  /** Live rows, as the counters have them. */
  live: number;
  /** What was done: ANALYZE (statistics were stale), VACUUM (dead rows piled up), or both in one VACUUM ANALYZE. */
  analyze: boolean;
  vacuum: boolean;
}

/** Statements on one connection of the pool, outside any transaction (each statement commits on its own). */
export type SessionQuery = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;
export type Session = <T>(fn: (query: SessionQuery) => Promise<T>) => Promise<T>;

/** A Session on a connection of the DataSource's pool, released when fn is done. */
export function poolSession(dataSource: DataSource): Session {
  return async (fn) => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      return await fn((sql, params = []) => runner.query(sql, params));
    } finally {
      await runner.release();
    }
  };
}

export class TableMaintenance {
  private readonly log = new Logger('TableMaintenance');
  private lastCheck = 0;
  private running: Promise<unknown> | null = null;
  private autovacuumChecked = false;
  private stopped = false;
  /** Tables analyzed and vacuumed by this process so far (for operators and tests). */
  analyzed = 0;
  vacuumed = 0;

  constructor(
    private readonly session: Session,
    private readonly checkMs = CHECK_MS,
  ) {}

  /** After a committed transaction: starts a check in the background when the last one is CHECK_MS old. */
  touch(): void {
    const now = Date.now();
    if (this.stopped || this.running || now - this.lastCheck < this.checkMs) return;
    this.lastCheck = now;
    this.running = this.refresh()
      .catch((err: Error) => this.log.debug(`maintenance check skipped: ${err.message}`))
      .finally(() => (this.running = null));
  }

  /** Resolves when no check is running (before the connection closes). */
  async idle(): Promise<void> {
    await this.running;
  }

  /**
   * Analyzes the tables of the current schema whose statistics are stale and vacuums those full of dead rows;
   * returns them (empty when another process holds the check, or nothing is due).
   */
  async refresh(): Promise<MaintainedTable[]> {
    return this.session(async (query) => {
      if (!(await query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`))[0].ok) return [];
      try {
        await this.sayIfAutovacuumIsOff(query);
        const due = (
          await query<{
            schema: string;
            table: string;
            changed: string;
            dead: string;
            rows: string;
            live: string;
          }>(
            `SELECT s.schemaname AS "schema", s.relname AS "table", s.n_mod_since_analyze AS changed,
                    s.n_dead_tup AS dead, GREATEST(c.reltuples, 0) AS rows, s.n_live_tup AS live
               FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
              WHERE s.schemaname = current_schema()
              ORDER BY s.n_dead_tup + s.n_mod_since_analyze DESC`,
          )
        )
          .map((r) => {
            const t = {
              schema: r.schema,
              table: r.table,
              changed: Number(r.changed),
              dead: Number(r.dead),
              rows: Math.round(Number(r.rows)),
              live: Number(r.live),
            };
            return {
              ...t,
              analyze: t.changed > ANALYZE_BASE + ANALYZE_FRACTION * t.rows,
              vacuum: t.dead > VACUUM_BASE + VACUUM_FRACTION * t.live,
            };
          })
          .filter((t) => t.analyze || t.vacuum);
        const started = Date.now();
        const done: MaintainedTable[] = [];
        for (const { schema, ...t } of due) {
          if (this.stopped) break;
          const name = `${ident(schema)}.${ident(t.table)}`;
          await query(
            t.vacuum
              ? `VACUUM (SKIP_LOCKED${t.analyze ? ', ANALYZE' : ''}) ${name}`
              : `ANALYZE (SKIP_LOCKED) ${name}`,
          );
          done.push(t);
        }
        this.analyzed += done.filter((t) => t.analyze).length;
        this.vacuumed += done.filter((t) => t.vacuum).length;
        if (done.length) {
          const line = (t: MaintainedTable) =>
            `${t.vacuum ? (t.analyze ? 'vacuumed and analyzed' : 'vacuumed') : 'analyzed'} ${t.table}` +
            ` (${t.changed} changes, ${t.dead} dead, ~${t.rows} rows)`;
          this.log.debug(`${done.map(line).join(', ')} in ${Date.now() - started} ms`);
        }
        return done;
      } finally {
        await query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
      }
    });
  }

  /** No check starts after this (the connection is about to close). */
  stop(): void {
    this.stopped = true;
  }

  private async sayIfAutovacuumIsOff(query: SessionQuery): Promise<void> {
    if (this.autovacuumChecked) return;
    this.autovacuumChecked = true;
    const [av] = await query<{ on: string }>("SELECT current_setting('autovacuum') AS on");
    if (av.on !== 'on')
      this.log.log(
        'autovacuum is off: Syncline analyzes its own tables as they grow and vacuums them as their dead rows pile up',
      );
  }
}
