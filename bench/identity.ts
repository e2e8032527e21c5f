// Precision and recall of duplicate detection on the Salesforce sandbox's seeded people (personKey is ground
// truth, see detection-quality.ts), from a sync of BENCH_IDENTITY_CONTACTS (default 10,000) into a fresh SQLite
// store. A pair of Salesforce records counts as predicted-duplicate when both end up on one live customer (exact
// identity/email match or an automatic merge); the review-queue figures also count pending candidates. Writes
// bench/results.json `identity` (merged into the file, other keys kept). `npm run bench` measures the same on
// each full sync's store (`full_sync.*.detection`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEnvironment } from '../scripts/lib/sandbox-environment';
import { personKeyOf } from '../src/sandbox/people';
import { Database } from '../src/store/database';
import { SyncRunner } from '../src/sync/sync-runner.service';
import { RunTrigger } from '../src/sync/sync.types';
import { detectionQuality, seededIndex } from './detection-quality';

const COUNT = Number(process.env.BENCH_IDENTITY_CONTACTS ?? 10_000);
const SEED = 42;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-bench-identity-'));
  const env = await startEnvironment({
    contacts: COUNT,
    seed: SEED,
    env: { DATABASE_URL: `sqlite:${path.join(dir, 'bench.sqlite')}`, LOG_LEVEL: 'silent' },
  });
  try {
    env.salesforce.webhooks.configure({ enabled: false });
    const started = Date.now();
    await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    const ms = Date.now() - started;
    const db = env.app.get(Database);
    const quality = await detectionQuality((sql) => db.query(sql), COUNT, SEED);

    // Review included: a pending candidate counts as a predicted pair of every record of its two customers.
    const byCustomer = new Map<string, number[]>();
    for (const r of await db.query(
      "SELECT i.external_id, COALESCE(c.merged_into, i.customer_id) AS customer_id FROM customer_identities i JOIN customers c ON c.id = i.customer_id WHERE i.object = 'Contact'",
    )) {
      const i = seededIndex(r.external_id);
      if (i !== undefined)
        (byCustomer.get(r.customer_id) ?? byCustomer.set(r.customer_id, []).get(r.customer_id)!).push(i);
    }
    let reviewPairs = 0;
    let reviewTrue = 0;
    for (const cand of await db.query(
      "SELECT customer_a, customer_b FROM merge_candidates WHERE status = 'pending'",
    ))
      for (const x of byCustomer.get(cand.customer_a) ?? [])
        for (const y of byCustomer.get(cand.customer_b) ?? []) {
          reviewPairs++;
          if (personKeyOf(x, SEED) === personKeyOf(y, SEED)) reviewTrue++;
        }
    // Pairs held together by exact matching or automatic merges: the found ones and the wrong ones.
    const predictedAuto = quality.found + quality.wrong_merges;
    const identity = {
      ...quality,
      threshold: env.config.env.SYNCLINE_MERGE_AUTO_THRESHOLD,
      reviewFloor: env.config.env.SYNCLINE_MERGE_REVIEW_FLOOR,
      withReviewQueue: {
        precision:
          Math.round(((quality.found + reviewTrue) / (predictedAuto + reviewPairs || 1)) * 10000) / 10000,
        recall: Math.round(((quality.found + reviewTrue) / (quality.duplicate_pairs || 1)) * 10000) / 10000,
        reviewPairs,
        reviewTruePairs: reviewTrue,
      },
      seed: SEED,
      syncMs: ms,
      // Its own date: `npm run bench` keeps this key and names it in `carried_over` with this date.
      measured_at: new Date().toISOString(),
      note: 'pairs = true duplicate pairs among Salesforce Contacts that passed validation (quarantined records cannot be matched)',
    };
    const file = path.join(__dirname, 'results.json');
    const existing = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)
      : {};
    // Measured now: no longer one the file's run kept from an earlier one (bench/lib.ts, mergeResults).
    const carried = { ...((existing.carried_over ?? {}) as Record<string, string>) };
    delete carried.identity;
    const { carried_over: _kept, ...rest } = existing;
    const next = { ...rest, identity, ...(Object.keys(carried).length ? { carried_over: carried } : {}) };
    fs.writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(identity, null, 2)}\n`);
  } finally {
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
