// PostgreSQL planner statistics for Syncline's own tables, kept current while they grow.
//
// The planner picks index or sequential scans from each table's statistics (pg_statistic, written by ANALYZE).
// A full sync into a fresh schema grows every table from nothing, and until the tables are analyzed the planner
// estimates a lookup of 500 ids (`merged_into IN (…)`, `customer_id IN (…)`) as matching most rows, so it scans
// the whole table: in a 60,000-contact probe one such lookup took 13 ms where the index answers in ~1 ms, and the
// cost grew with the table for the whole run. Autovacuum analyzes tables too, but at most once per naptime (one
// minute by default) and not at all where it is turned off (as on this project's CI machine). So after its
// transactions Syncline checks, at most every CHECK_MS, which of its tables changed by more than a fraction of
// their size since their last analysis, and analyzes those. Where autovacuum keeps up, nothing is left to do:
// its analyses reset the same counters. One process of a cluster does it at a time (a transaction-level advisory
// lock per schema); the others skip that check. Each table is analyzed in a short transaction of its own with
// SKIP_LOCKED (PostgreSQL 12 and later), so a table autovacuum is vacuuming is left for the next check: waiting for
// it would make PostgreSQL cancel that vacuum.
import { Logger } from '@nestjs/common';
import type { Tx } from './database';

/** How often a process looks at the change counters at most. */
const CHECK_MS = 5_000;
/** A table is analyzed again once this many rows changed, plus FRACTION of its rows (as autovacuum's thresholds). */
const BASE_CHANGES = 1_000;
const FRACTION = 0.25;

/** A catalog name as a quoted identifier. */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface StaleTable {
  table: string;
  changed: number;
  rows: number;
}

export class PlannerStatistics {
  private readonly log = new Logger('PlannerStatistics');
  private lastCheck = 0;
  private running: Promise<unknown> | null = null;
  private autovacuumChecked = false;
  private stopped = false;
  /** Tables analyzed by this process so far (for operators and tests). */
  analyzed = 0;

  constructor(
    private readonly transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>,
    private readonly checkMs = CHECK_MS,
  ) {}

  /** After a committed transaction: starts a check in the background when the last one is CHECK_MS old. */
  touch(): void {
    const now = Date.now();
    if (this.stopped || this.running || now - this.lastCheck < this.checkMs) return;
    this.lastCheck = now;
    this.running = this.refresh()
      .catch((err: Error) => this.log.debug(`statistics check skipped: ${err.message}`))
      .finally(() => (this.running = null));
  }

  /** Resolves when no check is running (before the connection closes). */
  async idle(): Promise<void> {
    await this.running;
  }

  /**
   * Analyzes the tables of the current schema whose statistics are stale; returns them (empty when another
   * process holds the check, or nothing is stale).
   */
  async refresh(): Promise<StaleTable[]> {
    const lock = "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':syncline-analyze')) AS ok";
    const stale = await this.transaction(async (tx) => {
      if (!(await tx.query<{ ok: boolean }>(lock))[0].ok) return [];
      if (!this.autovacuumChecked) {
        this.autovacuumChecked = true;
        const [av] = await tx.query<{ on: string }>("SELECT current_setting('autovacuum') AS on");
        if (av.on !== 'on')
          this.log.log(
            'autovacuum is off: Syncline analyzes its own tables as they grow, but only VACUUM reclaims the dead rows of its queue tables (outbox, identity_pending)',
          );
      }
      return (
        await tx.query<{ schema: string; table: string; changed: string; rows: string }>(
          `SELECT s.schemaname AS "schema", s.relname AS "table", s.n_mod_since_analyze AS changed,
                  GREATEST(c.reltuples, 0) AS rows
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
            WHERE s.schemaname = current_schema()
              AND s.n_mod_since_analyze > CAST(? AS float8) + CAST(? AS float8) * GREATEST(c.reltuples, 0)
            ORDER BY s.n_mod_since_analyze DESC`,
          [BASE_CHANGES, FRACTION],
        )
      ).map((r) => ({
        schema: r.schema,
        table: r.table,
        changed: Number(r.changed),
        rows: Math.round(Number(r.rows)),
      }));
    });
    const started = Date.now();
    const done: StaleTable[] = [];
    for (const { schema, ...t } of stale) {
      if (this.stopped) break;
      // One short transaction per table (ANALYZE keeps its lock until commit), still one process at a time.
      // SKIP_LOCKED: a table another session holds that lock on (autovacuum's VACUUM, a migration) is left for the
      // next check rather than waited for; waiting would also make PostgreSQL cancel an autovacuum in progress.
      const ran = await this.transaction(async (tx) => {
        if (!(await tx.query<{ ok: boolean }>(lock))[0].ok) return false;
        await tx.execute(`ANALYZE (SKIP_LOCKED) ${ident(schema)}.${ident(t.table)}`);
        return true;
      });
      if (!ran) break;
      done.push(t);
    }
    this.analyzed += done.length;
    if (done.length)
      this.log.debug(
        `analyzed ${done.map((s) => `${s.table} (${s.changed} changes, ~${s.rows} rows)`).join(', ')} in ${Date.now() - started} ms`,
      );
    return done;
  }

  /** No check starts after this (the connection is about to close). */
  stop(): void {
    this.stopped = true;
  }
}
