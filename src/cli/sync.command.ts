// `syncline sync run <id> [--dry-run]` and `syncline sync list`: the same SyncRunner the scheduler and the API
// use, with the CLI user as the audit actor.
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { OutboxService } from '../sync/outbox.service';
import { SyncRunner } from '../sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../sync/sync.types';
import { SyncsService } from '../sync/syncs.service';
import { CliFailure, cliActor, countsTable, seconds, table, UsageError } from './cli-output';
import { RunProgressView } from './run-progress';

@SubCommand({
  name: 'run',
  arguments: '<id>',
  description: 'run a sync now (with a progress bar) and print its counts',
  argsDescription: { id: 'sync id' },
})
export class SyncRunCommand extends CommandRunner {
  constructor(
    private readonly runner: SyncRunner,
    private readonly outbox: OutboxService,
  ) {
    super();
  }

  @Option({ flags: '--dry-run', description: 'report what would change without writing anything' })
  parseDryRun(): boolean {
    return true;
  }

  async run([id]: string[], options: { dryRun?: boolean } = {}): Promise<void> {
    const dryRun = options.dryRun === true;
    const progress = new RunProgressView({ label: id, pendingOutbound: () => this.outbox.pendingCount() });
    let summary;
    try {
      summary = await this.runner.run(id, {
        trigger: RunTrigger.Cli,
        dryRun,
        actor: cliActor(),
        onProgress: progress.onProgress,
      });
    } finally {
      progress.stop();
    }
    const how = `${summary.mode}${summary.dryRun ? ', dry run: nothing was written' : ''}, ${seconds(summary.durationMs)}`;
    process.stdout.write(`sync ${id}: run ${summary.id} ${summary.status} (${how})\n`);
    process.stdout.write(countsTable(summary.counts));
    if (summary.status !== RunStatus.Succeeded) {
      throw new CliFailure(
        `run ${summary.id} ${summary.status}: ${summary.errors.join('; ') || 'no error recorded'}`,
      );
    }
  }
}

@SubCommand({ name: 'list', description: 'list the configured syncs' })
export class SyncListCommand extends CommandRunner {
  constructor(private readonly syncs: SyncsService) {
    super();
  }

  async run(): Promise<void> {
    const rows = [];
    for (const s of await this.syncs.list()) {
      const d = s.definition;
      rows.push([
        s.id,
        `${d.source.connection}/${d.source.object}`,
        d.destinations.map((x) => `${x.connection}/${x.object}`).join(', ') || '-',
        d.mode,
        d.schedule ?? '-',
        s.paused ? 'paused' : d.enabled ? 'active' : 'disabled',
        (await this.syncs.cursor(s.id)) ? 'incremental' : 'full',
      ]);
    }
    if (!rows.length) {
      process.stdout.write('no syncs configured (declare them in syncline.yaml or through the admin API)\n');
      return;
    }
    process.stdout.write(
      table(['id', 'source', 'destinations', 'mode', 'schedule', 'state', 'next run'], rows),
    );
  }
}

@Command({ name: 'sync', description: 'run and list syncs', subCommands: [SyncRunCommand, SyncListCommand] })
export class SyncCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('missing subcommand: syncline sync run <id> [--dry-run] | syncline sync list');
  }
}
