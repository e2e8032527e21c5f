// Precision and recall of duplicate detection on the Salesforce sandbox's seeded people (personKey is ground
// truth: generatePeople(count, seed)[i] is the i-th seeded Contact). A pair of Salesforce records counts as
// predicted-duplicate when both end up on one live customer (exact identity/email match or an automatic merge);
// the review-queue figures also count pending candidates above the floor. Writes bench/results.json `identity`
// (merged into the file, other keys kept).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generatePeople } from '../src/sandbox/people';
import { Database } from '../src/store/database';
import { SyncRunner } from '../src/sync/sync-runner.service';
import { RunTrigger } from '../src/sync/sync.types';
import { startEnvironment } from '../scripts/lib/sandbox-environment';
import * as os from 'node:os';

const COUNT = Number(process.env.BENCH_IDENTITY_CONTACTS ?? 2000);
const SEED = 42;

function pairs<T>(groups: Map<string, T[]>): Set<string> {
  const out = new Set<string>();
  for (const members of groups.values()) {
    const m = [...new Set(members.map(String))].sort();
    for (let i = 0; i < m.length; i++) for (let j = i + 1; j < m.length; j++) out.add(`${m[i]}|${m[j]}`);
  }
  return out;
}

function score(predicted: Set<string>, truth: Set<string>) {
  let tp = 0;
  for (const p of predicted) if (truth.has(p)) tp++;
  return {
    precision: predicted.size ? Math.round((tp / predicted.size) * 1000) / 1000 : 1,
    recall: truth.size ? Math.round((tp / truth.size) * 1000) / 1000 : 1,
    predicted: predicted.size,
    truePositives: tp,
  };
}

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
    const people = generatePeople(COUNT, SEED);
    // Match each seeded Contact back to its generated person by the values the seeder wrote.
    const sig = (first: unknown, last: unknown, email: unknown) =>
      JSON.stringify([first ?? null, last ?? null, email ?? null]);
    const bySig = new Map<string, string>();
    for (const p of people)
      bySig.set(sig(p.firstName, p.lastName ?? p.firstName ?? '[not provided]', p.email), p.personKey);
    const contacts = (env.salesforce.state().records as Record<string, unknown>[]).filter(
      (r) => (r.attributes as { type?: string } | undefined)?.type === 'Contact',
    );
    const keyOf = new Map<string, string>();
    for (const r of contacts) {
      const k = bySig.get(sig(r.FirstName, r.LastName, r.Email));
      if (k) keyOf.set(String(r.Id), k);
    }

    const rows = await db.query(
      "SELECT i.external_id, i.customer_id, c.merged_into FROM customer_identities i JOIN customers c ON c.id = i.customer_id WHERE i.connection = 'salesforce' AND i.object = 'Contact'",
    );
    const live = rows.filter((r) => keyOf.has(r.external_id));
    const truthGroups = new Map<string, string[]>();
    const predGroups = new Map<string, string[]>();
    const customerOf = new Map<string, string>();
    for (const r of live) {
      const k = keyOf.get(r.external_id)!;
      if (!truthGroups.has(k)) truthGroups.set(k, []);
      truthGroups.get(k)!.push(r.external_id);
      const c = r.merged_into ?? r.customer_id;
      customerOf.set(r.external_id, c);
      if (!predGroups.has(c)) predGroups.set(c, []);
      predGroups.get(c)!.push(r.external_id);
    }
    const truth = pairs(truthGroups);
    const predicted = pairs(predGroups);
    const auto = score(predicted, truth);

    // Review-inclusive: add pending candidates' record pairs.
    const byCustomer = new Map<string, string[]>();
    for (const [ext, c] of customerOf) {
      if (!byCustomer.has(c)) byCustomer.set(c, []);
      byCustomer.get(c)!.push(ext);
    }
    const withReview = new Set(predicted);
    for (const cand of await db.query(
      "SELECT customer_a, customer_b FROM merge_candidates WHERE status = 'pending'",
    )) {
      for (const x of byCustomer.get(cand.customer_a) ?? [])
        for (const y of byCustomer.get(cand.customer_b) ?? []) withReview.add([x, y].sort().join('|'));
    }
    const review = score(withReview, truth);
    const [{ n: merges }] = await db.query(
      "SELECT COUNT(*) AS n FROM merge_candidates WHERE status = 'merged'",
    );
    const [{ n: pending }] = await db.query(
      "SELECT COUNT(*) AS n FROM merge_candidates WHERE status = 'pending'",
    );
    const threshold = env.config.env.SYNCLINE_MERGE_AUTO_THRESHOLD;
    const identity = {
      precision: auto.precision,
      recall: auto.recall,
      pairs: truth.size,
      threshold,
      reviewFloor: env.config.env.SYNCLINE_MERGE_REVIEW_FLOOR,
      withReviewQueue: {
        precision: review.precision,
        recall: review.recall,
        predictedPairs: review.predicted,
      },
      predictedPairs: auto.predicted,
      autoMerges: Number(merges),
      pendingReview: Number(pending),
      contacts: COUNT,
      matchedToGroundTruth: keyOf.size,
      customersFromSalesforce: live.length,
      seed: SEED,
      syncMs: ms,
      note: 'pairs = true duplicate pairs among Salesforce Contacts that passed validation (quarantined records cannot be matched)',
    };
    const file = path.join(__dirname, 'results.json');
    const existing = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)
      : {};
    fs.writeFileSync(file, `${JSON.stringify({ ...existing, identity }, null, 2)}\n`);
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
