// Developer tool (not part of npm run bench): duplicate scoring against the seeded people's ground truth, offline
// and in seconds, to weigh a change of the scoring rules before a full sync measures it (bench/identity.ts).
// Seeds a Salesforce sandbox store, maps its Contacts with the real mapping, and then does what detection does in
// bulk: block keys, each customer's neighbours sharing the most keys (at most 16, blocks read up to 50), a score
// per pair, automatic merges at the threshold (and customers sharing a normalized email, as identity resolution
// merges them). Ignores what a live run adds (merged survivors' fields, batch order), so its figures are close to,
// not equal to, a sync's.
//
// Usage: npx ts-node -T bench/scoring-eval.ts [count=20000] [seed=42] [threshold=0.92]
// SCORING_EVAL_LIST=<file> writes the wrong merges and missed pairs with their explanations.
import fs from 'node:fs';
import path from 'node:path';
import { SandboxClock } from '../connectors/salesforce/sandbox/salesforce-clock';
import {
  SCHEMAS,
  SLOT_ID,
  SLOT_IS_DELETED,
  SLOT_MODSTAMP,
} from '../connectors/salesforce/sandbox/salesforce-schema';
import { seedStore } from '../connectors/salesforce/sandbox/salesforce-seed';
import { SalesforceStore } from '../connectors/salesforce/sandbox/salesforce-store';
import { blockKeysOf } from '../src/identity/blocking';
import { MAX_BLOCK, MAX_COMPARED } from '../src/identity/detection-planner';
import { normalizeEmailForMatching, EmailRule } from '../src/identity/email-normalization';
import { matchProfile, scoreProfiles, type MatchProfile, type MatchScore } from '../src/identity/similarity';
import { mapInbound } from '../src/mapping/mapping.engine';
import { parseMappingFile } from '../src/mapping/mapping.loader';
import { generatePeople } from '../src/sandbox/people';

const REVIEW_FLOOR = 0.75;

function main(): void {
  const count = Number(process.argv[2] ?? 20000);
  const seed = Number(process.argv[3] ?? 42);
  const threshold = Number(process.argv[4] ?? 0.92);
  const store = new SalesforceStore(new SandboxClock());
  seedStore(store, { count, seed, leadCount: 0 });
  const people = generatePeople(count, seed);
  const file = path.join(__dirname, '..', 'mappings', 'salesforce', 'contact.yaml');
  const { mapping, errors } = parseMappingFile(fs.readFileSync(file, 'utf8'), file);
  if (!mapping) throw new Error(JSON.stringify(errors));
  const schema = SCHEMAS.Contact;
  const slot = (name: string) => schema.byLowerName.get(name.toLowerCase())!.slot;

  // Customers: one per mapped Contact (records whose mapping has issues are quarantined by a sync: left out).
  const person: number[] = [];
  const profiles: MatchProfile[] = [];
  const emailKeys: (string | null)[] = [];
  let i = -1;
  for (const row of store.tables.Contact.byId.values()) {
    i++;
    if (row[SLOT_IS_DELETED]) continue;
    const record: Record<string, unknown> = {
      Id: row[SLOT_ID],
      SystemModstamp: new Date(row[SLOT_MODSTAMP] as number).toISOString(),
    };
    for (const f of schema.fields)
      if (f.slot >= 0 && record[f.name] === undefined) record[f.name] = row[f.slot];
    const accountId = row[slot('AccountId')] as string | null;
    record.Account = accountId ? { Name: store.accounts.get(accountId) } : null;
    const mapped = mapInbound(mapping, record);
    if (mapped.issues.length) continue;
    person.push(i);
    profiles.push(matchProfile(mapped.fields));
    emailKeys.push(normalizeEmailForMatching(mapped.fields.email, [EmailRule.Case, EmailRule.Whitespace]));
  }
  const n = profiles.length;

  // Union-find over customers: merged by email key, then by automatic merges.
  const parent = Array.from({ length: n }, (_, k) => k);
  const find = (k: number): number => (parent[k] === k ? k : (parent[k] = find(parent[k])));
  const union = (a: number, b: number) => {
    parent[find(a)] = find(b);
  };
  const byEmail = new Map<string, number>();
  emailKeys.forEach((e, k) => {
    if (!e) return;
    const first = byEmail.get(e);
    if (first === undefined) byEmail.set(e, k);
    else union(k, first);
  });

  const blocks = new Map<string, number[]>();
  const keysOf = profiles.map((p) => blockKeysOf(p));
  keysOf.forEach((keys, k) => {
    for (const key of keys) (blocks.get(key) ?? blocks.set(key, []).get(key)!).push(k);
  });
  const scored = new Map<string, MatchScore>();
  for (let c = 0; c < n; c++) {
    const shared = new Map<number, number>();
    for (const key of keysOf[c]) {
      for (const o of (blocks.get(key) ?? []).slice(0, MAX_BLOCK))
        if (o !== c) shared.set(o, (shared.get(o) ?? 0) + 1);
    }
    const neighbours = [...shared].sort((x, y) => y[1] - x[1]).slice(0, MAX_COMPARED);
    for (const [o] of neighbours) {
      const pair = c < o ? `${c}|${o}` : `${o}|${c}`;
      if (scored.has(pair)) continue;
      const s = scoreProfiles(profiles[c], profiles[o]);
      if (s) scored.set(pair, s);
    }
  }
  for (const [pair, s] of scored) {
    if (s.score < threshold) continue;
    const [a, b] = pair.split('|').map(Number);
    union(a, b);
  }

  const keyOf = (k: number) => people[person[k]].personKey;
  // The review queue: pairs between the floor and the threshold, true or not, by why they were capped.
  const review: Record<string, { true: number; false: number }> = {};
  for (const [pair, s] of scored) {
    if (s.score < REVIEW_FLOOR || s.score >= threshold) continue;
    const [a, b] = pair.split('|').map(Number);
    const corroborated = s.fields.some((f) => f.corroborates);
    const why = (s.cap ?? (corroborated ? 'corroborated' : 'uncorroborated'))
      .replace(/ \(.*\)/, '')
      .replace(/: capped.*/, '');
    const r = (review[why] ??= { true: 0, false: 0 });
    r[keyOf(a) === keyOf(b) ? 'true' : 'false']++;
  }
  const groups = (by: (k: number) => string) => {
    const out = new Map<string, number[]>();
    for (let k = 0; k < n; k++) (out.get(by(k)) ?? out.set(by(k), []).get(by(k))!).push(k);
    return out;
  };
  const pairsOf = (g: Map<string, number[]>) => {
    const out: [number, number][] = [];
    for (const m of g.values())
      for (let x = 0; x < m.length; x++) for (let y = x + 1; y < m.length; y++) out.push([m[x], m[y]]);
    return out;
  };
  const truth = pairsOf(groups(keyOf));
  const predicted = pairsOf(groups((k) => String(find(k))));
  const missed = truth.filter(([a, b]) => find(a) !== find(b));
  const wrong = predicted.filter(([a, b]) => keyOf(a) !== keyOf(b));
  const tp = truth.length - missed.length;
  console.log(
    JSON.stringify({
      customers: n,
      threshold,
      pairs: truth.length,
      predicted: predicted.length,
      precision: +(tp / Math.max(1, predicted.length)).toFixed(4),
      recall: +(tp / Math.max(1, truth.length)).toFixed(4),
      wrong: wrong.length,
      missed: missed.length,
      scored: scored.size,
      review,
    }),
  );
  if (process.env.SCORING_EVAL_LIST) {
    const explain = ([a, b]: [number, number]) => {
      const s = scored.get(a < b ? `${a}|${b}` : `${b}|${a}`);
      const pa = people[person[a]];
      const pb = people[person[b]];
      return `#${person[a]} #${person[b]} ${s ? s.score : 'unscored'} ${pb.messy.filter((m) => m.startsWith('dup')).join(',')}\n  ${JSON.stringify(profiles[a])}\n  ${JSON.stringify(profiles[b])}\n  ${pa.city}/${pa.country} ${pb.city}/${pb.country}${s ? `\n  ${s.fields.map((f) => `${f.field}=${f.similarity}`).join(' ')} ${s.cap ?? ''}` : ''}`;
    };
    fs.writeFileSync(
      process.env.SCORING_EVAL_LIST,
      ['# wrong', ...wrong.map(explain), '# missed', ...missed.map(explain)].join('\n') + '\n',
    );
  }
}

main();
