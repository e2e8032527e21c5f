// `syncline dead-letters list` and `syncline dead-letters replay [--id N ...]`: outbound records that used up
// their retries, and putting them back in the outbox (the running service's sweep then sends them).
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { OutboxService } from '../sync/outbox.service';
import { cliActor, positiveInt, table, UsageError } from './cli-output';

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[A-Za-z]{2,}/g;

@SubCommand({ name: 'list', description: 'list dead letters, newest first' })
export class DeadLettersListCommand extends CommandRunner {
  constructor(private readonly outbox: OutboxService) {
    super();
  }

  @Option({ flags: '--limit <n>', description: 'how many (default 100)' })
  parseLimit(value: string): number {
    return positiveInt('--limit', value);
  }

  @Option({ flags: '--connection <id>', description: 'only this destination connection' })
  parseConnection(value: string): string {
    return value;
  }

  async run(_args: string[], options: { limit?: number; connection?: string } = {}): Promise<void> {
    const rows = await this.outbox.deadLetters(options.limit ?? 100, options.connection);
    if (!rows.length) {
      process.stdout.write('no dead letters\n');
      return;
    }
    process.stdout.write(
      table(
        ['id', 'destination', 'customer', 'op', 'attempts', 'reason'],
        // Vendor error messages sometimes quote the address they refused; the customer id identifies the record.
        rows.map((r) => [
          r.id,
          `${r.connection}/${r.object}`,
          r.customer_id,
          r.op,
          r.attempts,
          (r.last_error ?? '').replace(EMAIL, '<email>'),
        ]),
      ),
    );
  }
}

@SubCommand({ name: 'replay', description: 'put dead letters back in the outbox (all, or the given ids)' })
export class DeadLettersReplayCommand extends CommandRunner {
  constructor(private readonly outbox: OutboxService) {
    super();
  }

  @Option({ flags: '--id <ids...>', name: 'ids', description: 'dead letter ids (default: all)' })
  parseIds(value: string, previous: number[] | undefined): number[] {
    return [...(previous ?? []), positiveInt('--id', value)];
  }

  async run(_args: string[], options: { ids?: number[] } = {}): Promise<void> {
    const n = await this.outbox.replayDeadLetters(options.ids?.length ? options.ids : 'all', cliActor());
    process.stdout.write(`replayed ${n} dead letter(s); they are pending in the outbox again\n`);
  }
}

@Command({
  name: 'dead-letters',
  description: 'list and replay outbound dead letters',
  subCommands: [DeadLettersListCommand, DeadLettersReplayCommand],
})
export class DeadLettersCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError(
      'missing subcommand: syncline dead-letters list | syncline dead-letters replay [--id N ...]',
    );
  }
}
