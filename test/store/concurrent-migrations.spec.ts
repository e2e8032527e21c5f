// Several processes opening one SQLite file at once, as `syncline serve` and a CLI command do after an upgrade: each
// runs the pending migrations at boot, and they take turns on the lock file beside the database. Real processes: the
// test holds the lock while they start, so each has to wait (and says so), then they contend for it when it is let go.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Sqlite from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/schema';
import { migrationLockFileOf } from '../../src/store/data-source';
import { dropTestDatabase, sqliteTestTarget } from '../support/test-database';

const CHILD = path.join(__dirname, 'open-database.child.ts');

function child(file: string): {
  proc: ChildProcess;
  lines: string[];
  ready: Promise<void>;
  done: Promise<number>;
} {
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stdout!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      if (line === 'ready') onReady();
    }
  });
  const done = new Promise<number>((r) => proc.on('exit', (code) => r(code ?? -1)));
  return { proc, lines, ready, done };
}

describe('migrations run at once by several processes (sqlite file)', () => {
  const target = sqliteTestTarget() as { type: 'sqlite'; file: string };
  afterAll(() => dropTestDatabase(target));

  it('runs each migration once, every process boots, and the lock file is left empty', async () => {
    const children = Array.from({ length: 3 }, () => child(target.file));
    // This process takes the lock first, so every child has to wait for it, and then for one another.
    const held = new Sqlite(migrationLockFileOf(target.file));
    held.exec('BEGIN EXCLUSIVE');
    const waiting = (c: (typeof children)[number]) =>
      c.lines.some((l) => l.includes(`waiting for another process to finish migrating ${target.file}`));
    try {
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.proc.stdin!.end('go\n');
      // A boot that stalls on another process's migrations says so.
      for (let i = 0; i < 300 && !children.every(waiting); i++) await new Promise((r) => setTimeout(r, 50));
      expect(children.filter(waiting)).toHaveLength(3);
      held.close();
      const codes = await Promise.all(children.map((c) => c.done));
      const answers = children.map((c) => c.lines.filter((l) => l === 'ok' || l.startsWith('failed')));
      expect(answers).toEqual([['ok'], ['ok'], ['ok']]);
      expect(codes).toEqual([0, 0, 0]);
    } finally {
      if (held.open) held.close();
      for (const c of children) c.proc.kill();
    }
    const db = new Sqlite(target.file, { readonly: true });
    try {
      const ran = db.prepare('SELECT name, COUNT(*) AS n FROM migrations GROUP BY name').all() as {
        name: string;
        n: number;
      }[];
      expect(ran.map((r) => r.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
      expect(ran.filter((r) => r.n !== 1)).toEqual([]);
    } finally {
      db.close();
    }
    expect(fs.statSync(migrationLockFileOf(target.file)).size).toBe(0);
  }, 120_000);
});
