// Runs ESLint's Node API (`new ESLint()`) with the repository's real eslint.config.mjs. It runs in a child Node
// process because Jest's module sandbox cannot load an ES-module config (it needs --experimental-vm-modules).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface LintMessage {
  file: string;
  line: number;
  ruleId: string | null;
  severity: number;
  message: string;
}

const SCRIPT = `
const { ESLint } = require('eslint');
const files = JSON.parse(process.argv[1]);
new ESLint({ cwd: process.cwd() })
  .lintFiles(files)
  .then((results) => {
    const out = results.flatMap((r) => r.messages.map((m) => ({ file: r.filePath, line: m.line, ruleId: m.ruleId, severity: m.severity, message: m.message })));
    process.stdout.write(JSON.stringify(out));
  })
  .catch((e) => { console.error(e); process.exit(1); });
`;

/** Every message ESLint reports for `files` (absolute or relative to the repository root). */
export function lintFiles(files: string[]): LintMessage[] {
  const stdout = execFileSync(process.execPath, ['-e', SCRIPT, JSON.stringify(files)], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as LintMessage[]).map((m) => ({ ...m, file: path.relative(REPO_ROOT, m.file) }));
}
