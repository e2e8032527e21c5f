import Sqlite from 'better-sqlite3';
import { padInLists, pow2Ceil, pow2Pieces } from './statement-shapes';

describe('statement shapes', () => {
  it('cuts counts into power-of-two pieces that cover every item once, in order', () => {
    expect(pow2Pieces(1000, 256).map((p) => p.size)).toEqual([256, 256, 256, 128, 64, 32, 8]);
    expect(pow2Pieces(0, 256)).toEqual([]);
    expect(pow2Pieces(7, 500).map((p) => p.size)).toEqual([4, 2, 1]);
    for (const n of [1, 2, 3, 255, 256, 257, 511, 2000]) {
      const pieces = pow2Pieces(n, 300);
      let next = 0;
      for (const p of pieces) {
        expect(p.start).toBe(next);
        expect(pow2Ceil(p.size)).toBe(p.size);
        expect(p.size).toBeLessThanOrEqual(256);
        next += p.size;
      }
      expect(next).toBe(n);
    }
  });

  it('pads IN lists to a power of two with the last value, keeping the other parameters in place', () => {
    const r = padInLists('SELECT * FROM t WHERE a = ? AND b IN (?, ?, ?) AND c = ?', ['A', 1, 2, 3, 'C']);
    expect(r.sql).toBe('SELECT * FROM t WHERE a = ? AND b IN (?,?,?,?) AND c = ?');
    expect(r.params).toEqual(['A', 1, 2, 3, 3, 'C']);
  });

  it('pads tuple lists of IN (VALUES …) and several lists in one statement', () => {
    const r = padInLists(
      'UPDATE o SET s = ? WHERE (id, v) IN (VALUES (CAST(? AS INTEGER), CAST(? AS INTEGER)),(CAST(? AS INTEGER), CAST(? AS INTEGER)),(CAST(? AS INTEGER), CAST(? AS INTEGER))) OR x IN (?,?,?,?,?)',
      ['sent', 1, 10, 2, 20, 3, 30, 'a', 'b', 'c', 'd', 'e'],
    );
    const tuple = '(CAST(? AS INTEGER), CAST(? AS INTEGER))';
    expect(r.sql).toBe(
      `UPDATE o SET s = ? WHERE (id, v) IN (VALUES ${[tuple, tuple, tuple, tuple].join(',')}) OR x IN (?,?,?,?,?,?,?,?)`,
    );
    expect(r.params).toEqual(['sent', 1, 10, 2, 20, 3, 30, 3, 30, 'a', 'b', 'c', 'd', 'e', 'e', 'e', 'e']);
  });

  it('leaves subqueries, literals, JOINs and lists already a power of two alone', () => {
    for (const sql of [
      'SELECT * FROM a JOIN (SELECT 1) b WHERE x IN (SELECT y FROM c WHERE z = ?)',
      "SELECT * FROM a WHERE x IN (?, 'lit', ?)",
      'SELECT * FROM a WHERE x IN (?,?) AND y = ?',
      'SELECT * FROM a WHERE x IN (NULL)',
    ]) {
      const params = [1, 2, 3];
      const r = padInLists(sql, params);
      expect(r.sql).toBe(sql);
      expect(r.params).toBe(params);
    }
  });

  it('returns the same rows from SQLite as the unpadded statement', () => {
    const db = new Sqlite(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
    for (let i = 1; i <= 20; i++) insert.run(i, i * 10);
    const sql =
      'SELECT id FROM t WHERE id IN (?,?,?,?,?) OR (id, v) IN (VALUES (?, ?),(?, ?),(?, ?)) ORDER BY id';
    const params = [1, 3, 5, 7, 9, 11, 110, 12, 999, 13, 130];
    const padded = padInLists(sql, params);
    expect(padded.sql).not.toBe(sql);
    expect(db.prepare(padded.sql).all(...padded.params)).toEqual(db.prepare(sql).all(...params));
    const del = padInLists('DELETE FROM t WHERE id IN (?,?,?)', [2, 4, 6]);
    expect(db.prepare(del.sql).run(...del.params).changes).toBe(3);
    db.close();
  });

  it('never pads a statement past the 32,766 parameters SQLite takes: a list that ran unpadded still runs', () => {
    const db = new Sqlite(':memory:');
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY)');
    db.prepare('INSERT INTO t (id) VALUES (?)').run('x5');
    // 20,000 ids (a page's deletions, say) plus two leading parameters: padding to 32,768 would not prepare.
    const ids = Array.from({ length: 20_000 }, (_, i) => `x${i}`);
    const sql = `SELECT id FROM t WHERE id <> ? AND id <> ? AND id IN (${ids.map(() => '?').join(',')})`;
    const padded = padInLists(sql, ['a', 'b', ...ids]);
    expect(padded.params.length).toBeLessThanOrEqual(32_766);
    expect(db.prepare(padded.sql).all(...padded.params)).toEqual([{ id: 'x5' }]);
    db.close();
  });
});
