// Tx.insertMany, the multi-row insert of every hot path: a VALUES list in power-of-two pieces on SQLite, one array
// per column cast to the column's type on PostgreSQL (`INSERT … SELECT * FROM unnest(…)`). Whatever a value holds
// (quotes, backslashes, braces, commas, the text NULL, emoji), it comes back as it went in.
import { Database } from '../../src/store/database';
import { OUTBOX_COLUMNS } from '../../src/sync/outbox.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { testDatabaseTarget } from '../support/test-database';

const COLUMNS = OUTBOX_COLUMNS;

/** Values an array literal or a statement could get wrong. */
const AWKWARD = [
  'a "quoted" word',
  'back\\slash \\" and \\\\ two',
  '{braces, commas}',
  'NULL',
  '',
  ' leading and trailing ',
  "it's",
  'é ü ß 😀 中文',
  'line\nbreak\ttab',
  'x'.repeat(10_000),
  null,
];

describe(`Tx.insertMany (${testDatabaseTarget().type})`, () => {
  let t: TestApp;
  let db: Database;

  beforeAll(async () => {
    t = await startTestApp({ SYNCLINE_BACKGROUND_JOBS: 'off' });
    db = t.app.get(Database);
  });
  afterAll(() => t.close());

  const at = '2026-12-07T00:00:00.000Z';
  /** An outbox row, its values in COLUMNS' order. */
  const row = (i: number, connection = 'insert-many', lastError = AWKWARD[i % AWKWARD.length]) => {
    const values: Record<string, unknown> = {
      connection,
      object: 'contacts',
      customer_id: `c-${i}`,
      op: 'upsert',
      sync_id: i % 3 ? `sync-${i}` : null,
      customer_version: i,
      status: 'sent',
      attempts: i % 7,
      next_attempt_at: at,
      last_error: lastError,
      created_at: at,
      updated_at: at,
    };
    return COLUMNS.map((c) => values[c]);
  };

  it('writes 2,345 rows (several statements) exactly as given, nulls and numbers included', async () => {
    const rows = Array.from({ length: 2_345 }, (_, i) => row(i));
    await db.transaction((tx) => tx.insertMany('outbox', COLUMNS, rows));
    const back = await db.query<Record<string, unknown>>(
      `SELECT ${COLUMNS.join(', ')} FROM outbox WHERE connection = 'insert-many' ORDER BY customer_version`,
    );
    expect(back).toHaveLength(rows.length);
    expect(back.map((r) => COLUMNS.map((c) => r[c]))).toEqual(rows);
    expect(back.filter((r) => r.last_error === null).length).toBeGreaterThan(200);
  });

  it('applies the suffix (ON CONFLICT) to every statement', async () => {
    const rows = Array.from({ length: 700 }, (_, i) => row(i, 'insert-many-conflict'));
    await db.transaction((tx) => tx.insertMany('outbox', COLUMNS, rows));
    // Overlapping those 700: they are left as they are, the other 800 are added.
    const again = Array.from({ length: 1_500 }, (_, i) => row(i, 'insert-many-conflict', 'second'));
    await db.transaction((tx) =>
      tx.insertMany('outbox', COLUMNS, again, 'ON CONFLICT (connection, object, customer_id) DO NOTHING'),
    );
    const back = await db.query<{ n: number; second: number }>(
      "SELECT COUNT(*) AS n, SUM(CASE WHEN last_error = 'second' THEN 1 ELSE 0 END) AS second FROM outbox WHERE connection = 'insert-many-conflict'",
    );
    expect(Number(back[0].n)).toBe(1_500);
    expect(Number(back[0].second)).toBe(800);
  });

  it('names a table that does not exist', async () => {
    await expect(db.transaction((tx) => tx.insertMany('no_such_table', ['a'], [[1]]))).rejects.toThrow(
      /no_such_table/,
    );
  });

  it('names a column the table does not have', async () => {
    await expect(
      db.transaction((tx) => tx.insertMany('outbox', [...COLUMNS, 'no_such_column'], [[...row(1, 'x'), 1]])),
    ).rejects.toThrow(/no_such_column/);
  });
});
