// `syncline erasure request|status|process` and `syncline keys rotate|status`, discovered by the CLI module.
import * as os from 'node:os';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ActorType, type Actor } from '../audit/audit.types';
import { ErasureService, type ErasureView } from './erasure.service';
import { KeyRotationService } from './key-rotation.service';

// Plain errors: the CLI entry point prints the message as one line and exits 1.
class CliFailure extends Error {}
const UsageError = CliFailure;

function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = os.userInfo().username || user;
  } catch {
    // No passwd entry (containers): the audit entry still says "cli".
  }
  return { type: ActorType.Cli, id: `cli:${user}` };
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function printErasure(v: ErasureView): void {
  process.stdout.write(
    `erasure ${v.id} of customer ${v.customerId}: ${v.status}${v.completedAt ? ` at ${v.completedAt}` : ''}\n`,
  );
  for (const s of v.steps) {
    const retry =
      s.status === 'confirmed'
        ? `confirmed ${s.confirmedAt}`
        : `${s.status}, ${s.attempts} attempt(s), next ${s.nextAttemptAt}${s.lastError ? ` (${s.lastError})` : ''}`;
    process.stdout.write(`  ${s.connection}/${s.object} ${s.externalId}: ${retry}\n`);
  }
}

function uuidArg(value: string | undefined, what: string): string {
  if (!value || !UUID.test(value)) throw new UsageError(`${what} must be a UUID`);
  return value;
}

@SubCommand({
  name: 'request',
  arguments: '<customerId>',
  description: 'erase a customer here and at every connected vendor',
})
export class ErasureRequestCommand extends CommandRunner {
  constructor(private readonly erasure: ErasureService) {
    super();
  }

  async run([customerId]: string[]): Promise<void> {
    const view = await this.erasure.request(uuidArg(customerId, 'customerId'), cliActor());
    // Give the vendors one pass now; the service's sweep retries whatever is left.
    await this.erasure.processDue();
    printErasure((await this.erasure.status(view.id))!);
  }
}

@SubCommand({
  name: 'status',
  arguments: '<id>',
  description: 'show an erasure request (by request id or customer id)',
})
export class ErasureStatusCommand extends CommandRunner {
  constructor(private readonly erasure: ErasureService) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const key = uuidArg(id, 'id');
    const view = (await this.erasure.status(key)) ?? (await this.erasure.statusOfCustomer(key));
    if (!view) throw new CliFailure(`no erasure request ${key}`);
    printErasure(view);
  }
}

@SubCommand({ name: 'process', description: 'retry every unconfirmed vendor deletion now' })
export class ErasureProcessCommand extends CommandRunner {
  constructor(private readonly erasure: ErasureService) {
    super();
  }

  async run(): Promise<void> {
    const r = await this.erasure.processDue({ ignoreSchedule: true });
    process.stdout.write(
      `attempted ${r.attempted}, confirmed ${r.confirmed}, failed ${r.failed}, completed ${r.completed.length} request(s)\n`,
    );
  }
}

@Command({
  name: 'erasure',
  description: 'GDPR/CCPA erasure requests',
  subCommands: [ErasureRequestCommand, ErasureStatusCommand, ErasureProcessCommand],
})
export class ErasureCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('missing subcommand: syncline erasure request <customerId> | status <id> | process');
  }
}

@SubCommand({
  name: 'rotate',
  description: 're-encrypt stored personal data and credentials with the current key (resumable)',
})
export class KeysRotateCommand extends CommandRunner {
  constructor(private readonly rotation: KeyRotationService) {
    super();
  }

  @Option({ flags: '--batch-size <n>', description: 'rows per transaction (default 500)' })
  parseBatch(value: string): number {
    return positiveInt('--batch-size', value);
  }

  async run(_args: string[], options: { batchSize?: number } = {}): Promise<void> {
    const report = await this.rotation.rotate({ batchSize: options.batchSize });
    for (const t of report.tables)
      process.stdout.write(
        `${t.table}: ${t.rewritten} row(s) re-encrypted${t.done ? '' : ' (not finished)'}\n`,
      );
    const stale = await this.rotation.staleRows();
    process.stdout.write(`current key "${report.keyId}"; rows still under other keys: ${stale}\n`);
    if (stale) throw new CliFailure('some rows still use an old key; run the rotation again');
  }
}

@SubCommand({ name: 'status', description: 'how many rows still hold values under a non-current key' })
export class KeysStatusCommand extends CommandRunner {
  constructor(private readonly rotation: KeyRotationService) {
    super();
  }

  async run(): Promise<void> {
    process.stdout.write(
      `current key "${this.rotation.currentKeyId}"; rows under other keys: ${await this.rotation.staleRows()}\n`,
    );
  }
}

@Command({
  name: 'keys',
  description: 'encryption keys',
  subCommands: [KeysRotateCommand, KeysStatusCommand],
})
export class KeysCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('missing subcommand: syncline keys rotate | syncline keys status');
  }
}
