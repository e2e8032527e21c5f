// `syncline quarantine list|replay`: the CLI face of QuarantineService. Output is JSON for scripts; reasons
// already mask personal values.
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ActorType } from '../audit/audit.types';
import { QuarantineService, QuarantineStatus } from './quarantine.service';

const CLI_ACTOR = { type: ActorType.Cli, id: 'cli' };

interface ListOptions {
  connection?: string;
  object?: string;
  status?: QuarantineStatus;
  field?: string;
  cursor?: number;
  limit?: number;
}

@SubCommand({
  name: 'list',
  description: 'List quarantined records (filters: --connection --object --status --field)',
})
export class QuarantineListCommand extends CommandRunner {
  constructor(private readonly quarantine: QuarantineService) {
    super();
  }

  async run(_params: string[], o: ListOptions = {}): Promise<void> {
    const page = await this.quarantine.list({
      connection: o.connection,
      object: o.object,
      status: o.status,
      field: o.field,
      after: o.cursor,
      limit: o.limit,
    });
    process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
  }

  @Option({ flags: '--connection <id>' })
  parseConnection(v: string) {
    return v;
  }
  @Option({ flags: '--object <name>' })
  parseObject(v: string) {
    return v;
  }
  @Option({ flags: '--status <status>', description: 'open or resolved' })
  parseStatus(v: string) {
    if (!Object.values(QuarantineStatus).includes(v as QuarantineStatus))
      throw new Error(`--status must be one of ${Object.values(QuarantineStatus).join(', ')}`);
    return v;
  }
  @Option({ flags: '--field <field>', description: 'canonical field named in a reason' })
  parseField(v: string) {
    return v;
  }
  @Option({ flags: '--cursor <id>' })
  parseCursor(v: string) {
    return positiveInt('--cursor', v);
  }
  @Option({ flags: '--limit <n>' })
  parseLimit(v: string) {
    return positiveInt('--limit', v);
  }
}

@SubCommand({
  name: 'replay',
  arguments: '[id]',
  description: 'Replay one quarantined record, or --all open ones, through the inbound path',
})
export class QuarantineReplayCommand extends CommandRunner {
  constructor(private readonly quarantine: QuarantineService) {
    super();
  }

  async run(
    params: string[],
    o: { all?: boolean; connection?: string; object?: string } = {},
  ): Promise<void> {
    if (o.all) {
      process.stdout.write(
        `${JSON.stringify(await this.quarantine.replayAll(CLI_ACTOR, { connection: o.connection, object: o.object }))}\n`,
      );
      return;
    }
    if (!params[0]) throw new Error('give a quarantine entry id or --all');
    process.stdout.write(
      `${JSON.stringify(await this.quarantine.replay(positiveInt('id', params[0]), CLI_ACTOR))}\n`,
    );
  }

  @Option({ flags: '--all', description: 'replay every open entry' })
  parseAll() {
    return true;
  }
  @Option({ flags: '--connection <id>' })
  parseConnection(v: string) {
    return v;
  }
  @Option({ flags: '--object <name>' })
  parseObject(v: string) {
    return v;
  }
}

@Command({
  name: 'quarantine',
  description: 'Inspect and replay quarantined records',
  subCommands: [QuarantineListCommand, QuarantineReplayCommand],
})
export class QuarantineCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help();
  }
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}
