// `syncline runs <syncId> [--limit N]`: the run history of a sync, newest first.
import { Command, CommandRunner, Option } from 'nest-commander';
import { SyncRunner } from '../sync/sync-runner.service';
import { SyncsService } from '../sync/syncs.service';
import { positiveInt, seconds, table } from './cli-output';

@Command({
  name: 'runs',
  arguments: '<syncId>',
  description: 'show the run history of a sync, newest first',
  argsDescription: { syncId: 'sync id' },
})
export class RunsCommand extends CommandRunner {
  constructor(
    private readonly runner: SyncRunner,
    private readonly syncs: SyncsService,
  ) {
    super();
  }

  @Option({ flags: '--limit <n>', description: 'how many runs (default 20)' })
  parseLimit(value: string): number {
    return positiveInt('--limit', value);
  }

  async run([syncId]: string[], options: { limit?: number } = {}): Promise<void> {
    await this.syncs.get(syncId); // an unknown sync is an error, not an empty history
    const runs = await this.runner.runs(syncId, options.limit ?? 20);
    if (!runs.length) {
      process.stdout.write(`sync ${syncId} has not run yet\n`);
      return;
    }
    process.stdout.write(
      table(
        [
          'run',
          'started',
          'status',
          'mode',
          'took',
          'read',
          'created',
          'updated',
          'unchanged',
          'quarantined',
          'sent',
          'dead',
          'errors',
        ],
        runs.map((r) => [
          r.id.slice(0, 8),
          r.startedAt.replace('T', ' ').slice(0, 19),
          r.dryRun ? `${r.status} (dry)` : r.status,
          r.mode,
          r.finishedAt ? seconds(r.durationMs) : '-',
          r.counts.read,
          r.counts.created,
          r.counts.updated,
          r.counts.unchanged,
          r.counts.quarantined,
          r.counts.sent,
          r.counts.deadLettered,
          r.errors.length,
        ]),
      ),
    );
  }
}
