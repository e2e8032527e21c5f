// `syncline merges list|accept|reject|undo|status`: the review queue, and detection's state, from the command line.
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ActorType } from '../audit/audit.types';
import { BlockKeyRules } from './block-key-rules.service';
import { CandidateStatus } from './identity.types';
import { MergeCandidatesService } from './merge-candidates.service';

const CLI_ACTOR = { type: ActorType.Cli, id: 'cli' };
const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

function idOf(params: string[]): number {
  const n = Number(params[0]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`give a merge candidate id, got "${params[0] ?? ''}"`);
  return n;
}

@SubCommand({ name: 'list', description: 'List merge candidates (default: the pending review queue)' })
export class MergesListCommand extends CommandRunner {
  constructor(private readonly candidates: MergeCandidatesService) {
    super();
  }
  async run(_p: string[], o: { status?: CandidateStatus; limit?: number } = {}): Promise<void> {
    out(await this.candidates.list({ status: o.status ?? CandidateStatus.Pending, limit: o.limit }));
  }
  @Option({ flags: '--status <status>', description: 'pending, merged, rejected or undone' })
  parseStatus(v: string) {
    if (!Object.values(CandidateStatus).includes(v as CandidateStatus))
      throw new Error(`--status must be one of ${Object.values(CandidateStatus).join(', ')}`);
    return v;
  }
  @Option({ flags: '--limit <n>' })
  parseLimit(v: string) {
    return Number(v);
  }
}

@SubCommand({ name: 'accept', arguments: '<id>', description: 'Merge a candidate pair' })
export class MergesAcceptCommand extends CommandRunner {
  constructor(private readonly candidates: MergeCandidatesService) {
    super();
  }
  async run(p: string[]): Promise<void> {
    out(await this.candidates.accept(idOf(p), CLI_ACTOR));
  }
}

@SubCommand({
  name: 'reject',
  arguments: '<id>',
  description: 'Reject a candidate pair (never proposed again)',
})
export class MergesRejectCommand extends CommandRunner {
  constructor(private readonly candidates: MergeCandidatesService) {
    super();
  }
  async run(p: string[]): Promise<void> {
    out(await this.candidates.reject(idOf(p), CLI_ACTOR));
  }
}

@SubCommand({
  name: 'undo',
  arguments: '<id>',
  description: 'Unmerge: restore both customers and their identities',
})
export class MergesUndoCommand extends CommandRunner {
  constructor(private readonly candidates: MergeCandidatesService) {
    super();
  }
  async run(p: string[]): Promise<void> {
    out(await this.candidates.undo(idOf(p), CLI_ACTOR));
  }
}

@SubCommand({
  name: 'status',
  description: 'Duplicate detection: its mode, the customers waiting, a re-keying after new blocking rules',
})
export class MergesStatusCommand extends CommandRunner {
  constructor(private readonly rules: BlockKeyRules) {
    super();
  }
  async run(): Promise<void> {
    out(await this.rules.report());
  }
}

@Command({
  name: 'merges',
  description: 'Duplicate review queue and merge history',
  subCommands: [
    MergesListCommand,
    MergesAcceptCommand,
    MergesRejectCommand,
    MergesUndoCommand,
    MergesStatusCommand,
  ],
})
export class MergesCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help();
  }
}
