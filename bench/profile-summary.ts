// Summarizes a V8 .cpuprofile (from `npm run bench -- --profile`): the functions with the most self time, and
// the same by file, so "where the time goes" is a table rather than a flame graph.
// Run: ts-node -T bench/profile-summary.ts bench/out/<file>.cpuprofile [top]
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 25);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Each sample's delta is charged to the node it hit: self time, as the DevTools bottom-up view counts it.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fnTotals = new Map<string, number>();
  const fileTotals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? path.relative(process.cwd(), f.url.replace(/^file:\/\//, '')) : '(native)';
    const key = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
    const group = where.startsWith('node_modules/')
      ? where
          .split('/')
          .slice(0, where.startsWith('node_modules/@') ? 3 : 2)
          .join('/')
      : where;
    fileTotals.set(group, (fileTotals.get(group) ?? 0) + us);
  }
  const table = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({
        self_ms: Math.round(us / 1000),
        pct: `${((100 * us) / totalUs).toFixed(1)}%`,
        where: k,
      }));
  console.log(`total sampled: ${Math.round(totalUs / 1000)} ms`);
  console.table(table(fnTotals));
  console.table(table(fileTotals));
}

main();
