// Duplicate detection measured against the Salesforce sandbox's ground truth, on a store a sync filled. The seeded
// people carry a `personKey` (a duplicate shares its original's); the i-th seeded Contact is person i, with the
// Salesforce id of counter i + 1. Pairs of Contacts of one person held by one live customer are found, pairs of one
// person held apart are missed, pairs of two people held together are wrong merges (an exact email match or an
// automatic merge put them there).
//
// Used by `npm run bench` after each full sync, by bench/identity.ts, and on its own for a kept store:
//   npx ts-node -T bench/detection-quality.ts <count> <seed> <DATABASE_URL> [schema]
// (the bench's sandboxes use seed 1, bench/probe.ts and bench/identity.ts seed 42). With DETECTION_QUALITY_LIST=<file>
// the missed pairs and wrong merges are written there with the seed's imperfections.
import fs from 'node:fs';
import { DataSource } from 'typeorm';
import { makeId } from '../connectors/salesforce/sandbox/salesforce-ids';
import { generatePerson, personKeyOf } from '../src/sandbox/people';

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

export interface DetectionQuality {
  contacts: number;
  duplicate_pairs: number;
  found: number;
  missed: number;
  wrong_merges: number;
  /** Of the wrong merges, pairs of two people whose seeded records have the same email address. */
  wrong_merges_shared_address: number;
  /** Precision with the shared-address pairs left out: what fuzzy matching (and its merges) got right. */
  precision_without_shared_address: number;
  precision: number;
  recall: number;
  auto_merges: number;
  pending_review: number;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Person index of a seeded Contact id (its counter less one), or undefined for any other id. */
export function seededIndex(id: string): number | undefined {
  let n = 0;
  for (const ch of id.slice(5, 15)) {
    const d = BASE62.indexOf(ch);
    if (d < 0) return undefined;
    n = n * 62 + d;
  }
  return n > 0 && makeId(id.slice(0, 3), n, id.slice(3, 5)) === id ? n - 1 : undefined;
}

function pairsOf(groups: Map<string, number[]>): [number, number][] {
  const out: [number, number][] = [];
  for (const g of groups.values())
    for (let a = 0; a < g.length; a++) for (let b = a + 1; b < g.length; b++) out.push([g[a], g[b]]);
  return out;
}

/** `query` runs SQL on the store (table names unqualified: a PostgreSQL connection set to its schema). */
export async function detectionQuality(
  query: Query,
  count: number,
  seed: number,
  list?: string,
): Promise<DetectionQuality> {
  const rows = await query(
    `SELECT i.external_id, COALESCE(c.merged_into, i.customer_id) AS customer_id FROM customer_identities i
     JOIN customers c ON c.id = i.customer_id WHERE i.object = 'Contact' AND c.erased_at IS NULL`,
  );
  const byPerson = new Map<string, number[]>();
  const byCustomer = new Map<string, number[]>();
  const customerOf = new Map<number, string>();
  const keyOf = new Map<number, string>();
  for (const r of rows) {
    const i = seededIndex(String(r.external_id));
    if (i === undefined || i >= count) continue;
    const customer = String(r.customer_id);
    const key = personKeyOf(i, seed);
    customerOf.set(i, customer);
    keyOf.set(i, key);
    (byPerson.get(key) ?? byPerson.set(key, []).get(key)!).push(i);
    (byCustomer.get(customer) ?? byCustomer.set(customer, []).get(customer)!).push(i);
  }
  const truth = pairsOf(byPerson);
  const predicted = pairsOf(byCustomer);
  const missed = truth.filter(([a, b]) => customerOf.get(a) !== customerOf.get(b));
  const wrong = predicted.filter(([a, b]) => keyOf.get(a) !== keyOf.get(b));
  const found = truth.length - missed.length;
  // Two seeded people can share an address (common names at one provider): exact email matching merges them by
  // design (one address, one customer), so those wrong merges are told apart from what fuzzy matching did.
  const address = (i: number) => generatePerson(i, seed).email?.trim().toLowerCase();
  const sharedAddress = wrong.filter(
    ([a, b]) => address(a) !== undefined && address(a) === address(b),
  ).length;
  // As the review queue lists them: a pending pair with a customer merged away or erased since is left out.
  const candidates = await query(
    `SELECT status, COUNT(*) AS n FROM merge_candidates m WHERE status <> 'pending' OR NOT EXISTS (SELECT 1 FROM
     customers c WHERE c.id IN (m.customer_a, m.customer_b) AND (c.merged_into IS NOT NULL OR c.erased_at IS NOT NULL))
     GROUP BY status`,
  );
  const status = (s: string) => Number(candidates.find((c) => c.status === s)?.n ?? 0);
  if (list) {
    const describe = ([a, b]: [number, number]) =>
      `#${a} #${b} ${generatePerson(b, seed)
        .messy.filter((m) => m.startsWith('duplicate'))
        .join(',')}`;
    fs.writeFileSync(
      list,
      ['# missed', ...missed.map(describe), '# wrong', ...wrong.map(describe)].join('\n') + '\n',
    );
  }
  const ratio = (x: number, y: number) => (y ? Math.round((x / y) * 10000) / 10000 : 1);
  return {
    contacts: customerOf.size,
    duplicate_pairs: truth.length,
    found,
    missed: missed.length,
    wrong_merges: wrong.length,
    wrong_merges_shared_address: sharedAddress,
    precision: ratio(found, predicted.length),
    precision_without_shared_address: ratio(found, predicted.length - sharedAddress),
    recall: ratio(found, truth.length),
    auto_merges: status('merged'),
    pending_review: status('pending'),
  };
}

/** Opens a store by its DATABASE_URL (and PostgreSQL schema) and measures it. */
export async function detectionQualityOf(
  url: string,
  schema: string | undefined,
  count: number,
  seed: number,
  list?: string,
): Promise<DetectionQuality> {
  // PostgreSQL: every pooled connection searches the schema (a SET would hold for one connection of the pool).
  const ds = url.startsWith('sqlite:')
    ? new DataSource({ type: 'better-sqlite3', database: url.slice('sqlite:'.length), readonly: true })
    : new DataSource({
        type: 'postgres',
        url,
        ...(schema ? { extra: { options: `-c search_path="${schema}"` } } : {}),
      });
  await ds.initialize();
  try {
    return await detectionQuality((sql) => ds.query(sql), count, seed, list);
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  const [count, seed, url, schema] = process.argv.slice(2);
  if (!Number(count) || !url) {
    console.error('usage: detection-quality.ts <count> <seed> <DATABASE_URL> [schema]');
    process.exit(2);
  }
  detectionQualityOf(url, schema, Number(count), Number(seed), process.env.DETECTION_QUALITY_LIST)
    .then((q) => console.log(JSON.stringify(q, null, 2)))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
