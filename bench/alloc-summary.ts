// Summarizes a sampling heap profile written by `PROBE_ALLOC=<file> bench/probe.ts` (every allocation sampled,
// collected ones included): bytes allocated by function and by file, so "what makes the garbage" is a table.
// Run: ts-node -T bench/alloc-summary.ts <file> [top]
import fs from 'node:fs';

interface AllocNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocNode[];
}

function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 30);
  const { head } = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: AllocNode };
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const walk = (n: AllocNode) => {
    if (n.selfSize) {
      const f = n.callFrame;
      const where = f.url.replace(/^.*\/(node_modules|dist)\//, '$1/') || '(native)';
      const fn = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
      byFn.set(fn, (byFn.get(fn) ?? 0) + n.selfSize);
      byFile.set(where, (byFile.get(where) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    n.children.forEach(walk);
  };
  walk(head);
  const table = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, bytes]) => ({
        mb: Math.round(bytes / 2 ** 20),
        pct: `${((100 * bytes) / total).toFixed(1)}%`,
        where,
      }));
  console.log(`total sampled: ${Math.round(total / 2 ** 20)} MB`);
  console.table(table(byFn));
  console.table(table(byFile));
}

main();
