// Re-encrypts everything sealed at rest with the current key, in batches, one transaction per batch that also
// stores the progress: an interrupted rotation resumes after the last committed batch. Rows already on the
// current key are left alone, and plaintext rows from before encryption are sealed on the way.
import { Injectable, Logger } from '@nestjs/common';
import { isChangesReference } from '../audit/audit.service';
import { CustomerWriter } from '../canonical/customer-writer.service';
import type { FieldValue } from '../canonical/customer.model';
import { Clock } from '../common/clock';
import { Database, type Row, type Tx } from '../store/database';
import { FieldCipher } from './field-cipher';
import { PiiCodec, SEALED_KEY } from './pii-codec';

interface RotatedTable {
  table: string;
  /** Primary key, one or two columns (keyset pagination). */
  keys: [string] | [string, string];
  columns: string[];
  /** New column values, or null when the row needs nothing. */
  reseal(row: Row): Record<string, unknown> | null;
}

export interface RotationReport {
  keyId: string;
  finished: boolean;
  tables: { table: string; rewritten: number; done: boolean }[];
}

export interface RotationOptions {
  batchSize?: number;
  /** Stop after this many batches in total (tests, bounded maintenance windows); rerun to resume. */
  maxBatches?: number;
  onBatch?: (table: string, rewritten: number) => void;
}

@Injectable()
export class KeyRotationService {
  private readonly log = new Logger('KeyRotation');
  private readonly tables: RotatedTable[];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly pii: PiiCodec,
    private readonly writer: CustomerWriter,
  ) {
    const text = (col: string) => (row: Row) => {
      const v = row[col];
      if (typeof v !== 'string' || !this.needsText(v)) return null;
      return { [col]: this.pii.sealText(this.pii.openText(v)) };
    };
    this.tables = [
      {
        table: 'customers',
        keys: ['id'],
        columns: ['fields', 'email_key'],
        reseal: (r) => this.resealCustomer(r),
      },
      {
        table: 'customer_versions',
        keys: ['customer_id', 'version'],
        columns: ['changes'],
        reseal: (r) => this.resealChanges(r),
      },
      {
        table: 'audit_entries',
        keys: ['seq'],
        columns: ['payload', 'redacted_at'],
        // Pseudonymized entries and references to a version's changes hold no personal data and stay as they are.
        reseal: (r) =>
          r.redacted_at || r.payload === null || isChangesReference(r.payload) ? null : text('payload')(r),
      },
      {
        table: 'quarantine',
        keys: ['id'],
        columns: ['record', 'reasons'],
        reseal: (r) => merge(text('record')(r), text('reasons')(r)),
      },
      {
        // Details can quote a rejected value (sealed); the value-free ones (field names, versions) are plain.
        table: 'record_outcomes',
        keys: ['id'],
        columns: ['detail'],
        reseal: (r) => (FieldCipher.isToken(r.detail) ? text('detail')(r) : null),
      },
      {
        table: 'webhook_inbox',
        keys: ['connection', 'event_id'],
        columns: ['event', 'status'],
        reseal: (r) => (r.status === 'erased' ? null : text('event')(r)),
      },
      {
        table: 'connections',
        keys: ['id'],
        columns: ['credentials'],
        reseal: (r) => this.resealCredentials(r),
      },
    ];
  }

  get currentKeyId(): string {
    return this.pii.cipher.currentKeyId;
  }

  /** Runs (or resumes) the rotation to the current key. */
  async rotate(options: RotationOptions = {}): Promise<RotationReport> {
    const keyId = this.currentKeyId;
    const batchSize = Math.max(1, options.batchSize ?? 500);
    let progress = await this.progress(keyId);
    // A rotation finished earlier under this key id, but values under other keys exist again (a key went back
    // into first place, or rows were written by an older configuration): start over.
    if (this.tables.every((t) => progress.get(t.table)?.status === 'done') && (await this.staleRows()) > 0) {
      await this.db.transaction((tx) => tx.execute('DELETE FROM key_rotations WHERE key_id = ?', [keyId]));
      progress = new Map();
    }
    let batches = 0;
    let finished = true;
    for (const t of this.tables) {
      const p = progress.get(t.table);
      if (p?.status === 'done') continue;
      let cursor: unknown[] | null = p?.cursor ? JSON.parse(p.cursor) : null;
      for (;;) {
        if (options.maxBatches !== undefined && batches >= options.maxBatches) {
          finished = false;
          break;
        }
        batches++;
        // The inbox's batches also write its file (SQLite keeps it apart, store/data-source.ts). The two files
        // commit separately: a stop between them can leave a batch of events under the old key with the progress
        // past it, which the stale-row check at the next rotation finds (it starts over).
        const step = await this.db.transaction((tx) => this.batch(tx, t, keyId, cursor, batchSize, !p), 20, {
          scope: t.table === 'webhook_inbox' ? 'both' : 'main',
        });
        cursor = step.cursor;
        options.onBatch?.(t.table, step.rewritten);
        if (step.done) break;
      }
      if (!finished) break;
    }
    const after = await this.progress(keyId);
    const report: RotationReport = {
      keyId,
      finished,
      tables: this.tables.map((t) => ({
        table: t.table,
        rewritten: after.get(t.table)?.rewritten ?? 0,
        done: after.get(t.table)?.status === 'done',
      })),
    };
    if (finished)
      this.log.log(
        `key rotation to "${keyId}" finished: ${report.tables.map((t) => `${t.table} ${t.rewritten}`).join(', ')}`,
      );
    return report;
  }

  /** Rows that still hold a value sealed with a key other than the current one. */
  async staleRows(): Promise<number> {
    let n = 0;
    const others = this.pii.cipher.keyIds.filter((k) => k !== this.currentKeyId);
    for (const t of this.tables) {
      for (const col of t.columns) {
        for (const k of others) {
          const [r] = await this.db.query(`SELECT COUNT(*) AS n FROM ${t.table} WHERE ${col} LIKE ?`, [
            `%enc:v1:${k}:%`,
          ]);
          n += Number(r.n);
        }
      }
    }
    return n;
  }

  private async batch(
    tx: Tx,
    t: RotatedTable,
    keyId: string,
    cursor: unknown[] | null,
    size: number,
    fresh: boolean,
  ) {
    const now = this.clock.nowIso();
    if (fresh && !cursor) {
      await tx.execute(
        tx.dialect === 'postgres'
          ? 'INSERT INTO key_rotations (key_id, table_name, cursor, status, rewritten, started_at, updated_at) VALUES (?, ?, NULL, ?, 0, ?, ?) ON CONFLICT (key_id, table_name) DO NOTHING'
          : 'INSERT OR IGNORE INTO key_rotations (key_id, table_name, cursor, status, rewritten, started_at, updated_at) VALUES (?, ?, NULL, ?, 0, ?, ?)',
        [keyId, t.table, 'running', now, now],
      );
    }
    const [k1, k2] = t.keys;
    const cols = [...t.keys, ...t.columns].join(', ');
    const order = t.keys.join(', ');
    let where = '';
    let params: unknown[] = [];
    if (cursor) {
      where = k2 ? `WHERE ${k1} > ? OR (${k1} = ? AND ${k2} > ?)` : `WHERE ${k1} > ?`;
      params = k2 ? [cursor[0], cursor[0], cursor[1]] : [cursor[0]];
    }
    const rows = await tx.query(
      `SELECT ${cols} FROM ${t.table} ${where} ORDER BY ${order} LIMIT ${size}`,
      params,
    );
    let rewritten = 0;
    for (const r of rows) {
      const next = t.reseal(r);
      if (!next) continue;
      const sets = Object.keys(next);
      await tx.execute(
        `UPDATE ${t.table} SET ${sets.map((c) => `${c} = ?`).join(', ')} WHERE ${t.keys.map((k) => `${k} = ?`).join(' AND ')}`,
        [...sets.map((c) => next[c]), ...t.keys.map((k) => r[k])],
      );
      rewritten++;
    }
    const done = rows.length < size;
    const last = rows[rows.length - 1];
    const nextCursor = last ? t.keys.map((k) => last[k]) : cursor;
    await tx.execute(
      'UPDATE key_rotations SET cursor = ?, status = ?, rewritten = rewritten + ?, updated_at = ? WHERE key_id = ? AND table_name = ?',
      [
        nextCursor ? JSON.stringify(nextCursor) : null,
        done ? 'done' : 'running',
        rewritten,
        now,
        keyId,
        t.table,
      ],
    );
    return { cursor: nextCursor, rewritten, done };
  }

  private async progress(
    keyId: string,
  ): Promise<Map<string, { cursor: string | null; status: string; rewritten: number }>> {
    const rows = await this.db.query(
      'SELECT table_name, cursor, status, rewritten FROM key_rotations WHERE key_id = ?',
      [keyId],
    );
    return new Map(
      rows.map((r) => [
        r.table_name as string,
        { cursor: r.cursor ?? null, status: r.status, rewritten: Number(r.rewritten) },
      ]),
    );
  }

  /** Sealed under another key, or plaintext that should be sealed. */
  private needsText(v: string): boolean {
    return FieldCipher.isToken(v) ? this.pii.hasStaleKey(v) : true;
  }

  private resealCustomer(r: Row): Record<string, unknown> | null {
    const stored = JSON.parse(r.fields) as Record<string, FieldValue>;
    const plainPii = Object.keys(stored).some((k) => this.pii.isPii(k));
    if (
      !plainPii &&
      !(typeof stored[SEALED_KEY] === 'string' && this.pii.hasStaleKey(stored[SEALED_KEY] as string))
    )
      return null;
    const fields = this.pii.openFields(stored);
    // Rows from before encryption also carry a plaintext email key: re-key them with the blind index.
    return {
      fields: JSON.stringify(this.pii.sealFields(fields)),
      email_key: this.writer.emailKeyOf(fields.email),
    };
  }

  private resealChanges(r: Row): Record<string, unknown> | null {
    const stored = JSON.parse(r.changes) as {
      field: string;
      before?: FieldValue;
      after?: FieldValue;
      sealed?: string;
    }[];
    const stale = stored.some((c) =>
      typeof c.sealed === 'string'
        ? this.pii.hasStaleKey(c.sealed)
        : this.pii.isPii(c.field) && (c.before !== null || c.after !== null),
    );
    if (!stale) return null;
    return { changes: JSON.stringify(this.pii.sealChanges(this.pii.openChanges(stored as never))) };
  }

  private resealCredentials(r: Row): Record<string, unknown> | null {
    const stored = JSON.parse(r.credentials) as Record<string, unknown>;
    const stale = Object.values(stored).some(
      (v) => typeof v === 'string' && (!FieldCipher.isToken(v) || this.pii.hasStaleKey(v)),
    );
    if (!stale) return null;
    return { credentials: JSON.stringify(this.pii.sealCredentials(this.pii.openCredentials(stored))) };
  }
}

function merge(
  a: Record<string, unknown> | null,
  b: Record<string, unknown> | null,
): Record<string, unknown> | null {
  return a || b ? { ...(a ?? {}), ...(b ?? {}) } : null;
}
