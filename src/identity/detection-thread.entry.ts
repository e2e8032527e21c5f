// Entry of the detection thread (see detection-thread.ts): a connection of its own to the database (read-only on
// SQLite), the same key material as the engine (block keys through the blind index, sealed fields opened with the
// cipher), and a planner whose memos live here, off the engine's heap. Requests are served one at a time. SQLite:
// each plan in a read transaction of its own, one consistent snapshot held only while the plan reads. PostgreSQL:
// each batch's scoring, its statements reading what was committed before each began (as the batch's second
// transaction would).
import { parentPort, workerData } from 'node:worker_threads';
import type Sqlite from 'better-sqlite3';
import { PiiCodec } from '../privacy/pii-codec';
import { blindIndexFromEnv, cipherFromEnv } from '../privacy/privacy-keys';
import type { Dialect, Row } from '../store/database';
import { padInLists, toPg } from '../store/statement-shapes';
import { DetectionPlanner, type InFlight } from './detection-planner';
import type { DetectionReply, DetectionRequest, DetectionThreadData } from './detection-thread';

/**
 * Plans kept as in flight at most. The engine writes one plan while the next is made and acknowledges each
 * written plan with its next request; more than this unacknowledged means plans were dropped (a failed batch).
 */
const IN_FLIGHT = 4;
/** Prepared statements kept (texts are size-classed, see statement-shapes.ts: a few dozen in practice). */
const STATEMENTS = 200;
/**
 * The thread's memos, smaller than the engine's: every MB the thread holds adds to the process's peak, on top of
 * the engine's heap. Profiles (~1 KB each) are most of it; a plan reads its neighbours' versions anyway, and a
 * profile missed costs one row read and an open.
 */
const PROFILES = 4_000;
const DIGESTS = 10_000;
/**
 * Pending rows planned at a time within one plan (see DetectionPlanner.plan): what a part reads is garbage before
 * the next, so the heap holds one part's neighbours, not a whole plan's. At 1,000,000 customers a plan of 2,000
 * read at once (its blocks full, ~16 neighbours each, opened) outgrew the 48 MB heap and the thread died.
 */
const PART = 250;

/** The thread's database: what the planner reads through, and how a plan gets one snapshot. */
interface Source {
  reader: { readonly dialect: Dialect; query<T = Row>(sql: string, params?: unknown[]): Promise<T[]> };
  /** Runs `read` on one consistent snapshot (SQLite: a read transaction). */
  snapshot<T>(read: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function sqliteSource(file: string): Source {
  // Loaded here, not at the top: a PostgreSQL thread never needs the native module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as typeof Sqlite;
  const db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('cache_size = -2048');
  // This connection never writes: everything it plans is written by the engine's.
  db.pragma('query_only = ON');
  const statements = new Map<string, Sqlite.Statement>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      if (statements.size >= STATEMENTS) statements.clear();
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  return {
    reader: {
      dialect: 'sqlite',
      async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
        const s = padInLists(sql, params);
        return prepared(s.sql).all(...s.params) as T[];
      },
    },
    async snapshot<T>(read: () => Promise<T>): Promise<T> {
      db.exec('BEGIN');
      try {
        return await read();
      } finally {
        db.exec('COMMIT');
      }
    },
    async close() {
      db.close();
    },
  };
}

async function postgresSource(url: string, schema: string | undefined): Promise<Source> {
  const { Client } = await import('pg');
  const client = new Client({
    connectionString: url,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    application_name: 'syncline-detection',
  });
  await client.connect();
  // This connection never writes either.
  await client.query('SET default_transaction_read_only = on');
  return {
    reader: {
      dialect: 'postgres',
      async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
        return (await client.query(toPg(sql), params)).rows as T[];
      },
    },
    snapshot: (read) => read(),
    close: () => client.end(),
  };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as DetectionThreadData;
  const source = data.postgres
    ? await postgresSource(data.postgres.url, data.postgres.schema)
    : sqliteSource(data.file!);
  const index = data.keyed ? blindIndexFromEnv(data.env, DIGESTS) : undefined;
  const codec = data.sealed ? new PiiCodec(cipherFromEnv(data.env), [], 500) : undefined;
  const planner = new DetectionPlanner(
    (k) => (index ? index.of(k) : k),
    codec && ((stored) => codec.openFields(stored)),
    PROFILES,
  );
  const reply = (m: DetectionReply) => port.postMessage(m);
  const inFlight = new Map<number, InFlight>();

  const serve = async (m: DetectionRequest): Promise<void> => {
    if (m.op === 'close') {
      await source.close();
      reply({ op: 'done', seq: m.seq });
      port.close();
      return;
    }
    try {
      if (m.op === 'score') {
        // The engine claimed the batch and committed its keys (DuplicateDetector.detectInTwo).
        await planner.score(source.reader, m.batch, m.reviewFloor);
        reply({ op: 'done', seq: m.seq, plan: m.batch.plan });
        return;
      }
      if (source.reader.dialect !== 'sqlite') throw new Error('whole plans are made on SQLite only');
      // Written before this request was sent, so in the snapshot below.
      for (const seq of m.written) inFlight.delete(seq);
      const plan = await source.snapshot(() =>
        planner.plan(source.reader, m.limit, m.reviewFloor, undefined, [...inFlight.values()], PART),
      );
      plan.seq = m.seq;
      if (plan.pendingIds.length) {
        inFlight.set(m.seq, plan);
        if (inFlight.size > IN_FLIGHT) inFlight.delete(inFlight.keys().next().value!);
      }
      reply({ op: 'done', seq: m.seq, plan });
    } catch (e) {
      reply({ op: 'done', seq: m.seq, error: (e as Error).stack ?? String(e) });
    }
  };
  let chain = Promise.resolve();
  port.on('message', (m: DetectionRequest) => {
    chain = chain.then(() => serve(m));
  });
  reply({ op: 'ready' });
}

// A failed start (the database unreachable) ends the thread; the engine then detects on its own thread.
main().catch((err: Error) => {
  throw err;
});
