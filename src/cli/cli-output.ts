// Terminal output helpers shared by the CLI commands and the demo: exit codes, tables, masking. Nothing here
// prints a secret or a raw email; records are only shown in full where a command is asked for one.
import * as os from 'node:os';
import { ActorType, type Actor } from '../audit/audit.types';
import type { RunCounts } from '../sync/sync.types';

export enum ExitCode {
  Ok = 0,
  Failure = 1,
  Usage = 2,
}

/** A failure the user can act on: printed as one line, exit 1. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
  ) {
    super(message);
  }
}

/** Bad arguments or options: exit 2. */
export class UsageError extends CliFailure {
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}

/** The audit actor of everything the CLI does: who ran it on this machine. */
export function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = os.userInfo().username || user;
  } catch {
    // Containers without a passwd entry for the uid have no user name; the audit entry still says "cli".
  }
  return { type: ActorType.Cli, id: `cli:${user}` };
}

/** a…@example.com: enough to recognise a contact in a demo, not enough to harvest it. */
export function maskEmail(email: unknown): string {
  if (typeof email !== 'string' || !email.includes('@')) return '(no email)';
  const at = email.lastIndexOf('@');
  return `${email.slice(0, 1)}…${email.slice(at)}`;
}

/** Parses a positive integer option, or throws a usage error naming the option. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return n;
}

/** A plain aligned table: no colours, so it reads the same in a terminal, a CI log and a test. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return (
    [line(cells[0]), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n') + '\n'
  );
}

/** The counts of a run as a two-column table, in the order a reader follows a record through. */
export function countsTable(counts: RunCounts): string {
  const order: (keyof RunCounts)[] = [
    'read',
    'created',
    'updated',
    'unchanged',
    'quarantined',
    'deleted',
    'failed',
    'sent',
    'suppressed',
    'deadLettered',
  ];
  return table(
    ['count', 'value'],
    order.map((k) => [k === 'deadLettered' ? 'dead-lettered' : k, counts[k]]),
  );
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
