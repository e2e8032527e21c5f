// `syncline audit verify` and `syncline audit tail [-n N]`. Verify walks the whole hash chain and exits 1 at the
// first broken entry; tail prints compact lines (changed field names, never values unless --payload is asked).
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AuditService } from '../audit/audit.service';
import type { AuditEntry } from '../audit/audit.types';
import { CliFailure, positiveInt, UsageError } from './cli-output';

@SubCommand({ name: 'verify', description: 'verify the audit hash chain; exit 1 at the first broken entry' })
export class AuditVerifyCommand extends CommandRunner {
  constructor(private readonly audit: AuditService) {
    super();
  }

  async run(): Promise<void> {
    const report = await this.audit.verify();
    if (report.ok) {
      process.stdout.write(
        `audit chain ok: ${report.checked} entries verified${report.redacted ? ` (${report.redacted} redacted)` : ''}\n`,
      );
      return;
    }
    const b = report.firstBroken!;
    process.stdout.write(`audit chain BROKEN after ${report.checked} good entries\n`);
    throw new CliFailure(
      `first broken entry: ${b.seq === null ? 'end of chain' : `seq ${b.seq}`} (partition ${b.partition}, entry ${b.pseq}): ${b.reason}`,
    );
  }
}

@SubCommand({ name: 'tail', description: 'print the last audit entries, oldest first' })
export class AuditTailCommand extends CommandRunner {
  constructor(private readonly audit: AuditService) {
    super();
  }

  @Option({ flags: '-n, --lines <n>', description: 'how many entries (default 20)' })
  parseLines(value: string): number {
    return positiveInt('-n', value);
  }

  @Option({ flags: '--payload', description: 'also print each payload (may contain personal data)' })
  parsePayload(): boolean {
    return true;
  }

  async run(_args: string[], options: { lines?: number; payload?: boolean } = {}): Promise<void> {
    const entries = await this.audit.tail(options.lines ?? 20);
    if (!entries.length) {
      process.stdout.write('the audit log is empty\n');
      return;
    }
    for (const e of entries) {
      process.stdout.write(formatAuditEntry(e) + '\n');
      if (options.payload) process.stdout.write(`    ${JSON.stringify(e.payload)}\n`);
    }
  }
}

/** One line per entry: when, who, what, on which entity, and which fields changed (names only). */
export function formatAuditEntry(e: AuditEntry): string {
  const fields = changedFields(e.payload);
  const what = fields.length
    ? ` [${fields.slice(0, 6).join(', ')}${fields.length > 6 ? `, +${fields.length - 6}` : ''}]`
    : '';
  const entity = e.entityId.length > 13 ? `${e.entityId.slice(0, 8)}…` : e.entityId;
  return `#${e.seq} ${e.at.slice(11, 19)} ${e.actorType}:${shortActor(e.actorId)} ${e.action} ${e.entityType}/${entity}${what}${e.redactedAt ? ' (redacted)' : ''}`;
}

function shortActor(id: string): string {
  return id.length > 28 ? `${id.slice(0, 27)}…` : id;
}

function changedFields(payload: unknown): string[] {
  const changes = (payload as { changes?: unknown } | null)?.changes;
  if (!Array.isArray(changes)) return [];
  return changes
    .map((c) => (c as { field?: unknown })?.field)
    .filter((f): f is string => typeof f === 'string');
}

@Command({
  name: 'audit',
  description: 'verify and read the audit log',
  subCommands: [AuditVerifyCommand, AuditTailCommand],
})
export class AuditCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('missing subcommand: syncline audit verify | syncline audit tail [-n N]');
  }
}
