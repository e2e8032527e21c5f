// The CLI's root module. It imports the whole application (AppModule.forRoot with the same config the service
// uses), not a hand-picked subset, because nest-commander discovers @Command/@SubCommand providers by scanning
// every module in the container: a team adds its commands (quarantine, merges, erasure, key rotation, worker…)
// as providers of its own module, that module is part of AppModule, and the commands appear here without any
// edit to this file. Only the CLI's own generic commands are listed below. SyncModule is imported again (the same
// module instance) only because AppModule does not re-export it and these commands inject its services.
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { AppModule } from '../app.module';
import type { AppConfig } from '../config/app-config';
import { SyncModule } from '../sync/sync.module';
import { AuditCommand, AuditTailCommand, AuditVerifyCommand } from './audit.command';
import { DeadLettersCommand, DeadLettersListCommand, DeadLettersReplayCommand } from './dead-letters.command';
import { RunsCommand } from './runs.command';
import { SyncCommand, SyncListCommand, SyncRunCommand } from './sync.command';

/** The parts of commander's Command the entry point needs (nest-commander ships its own commander copy). */
export interface CommanderNode {
  name(): string;
  name(n: string): unknown;
  readonly commands: readonly CommanderNode[];
  exitOverride(fn: (err: Error & { exitCode: number; code: string }) => never | void): unknown;
}

/** Hands the root commander to main.ts so it can make every (sub)command throw instead of exiting. */
@Injectable()
export class CommanderRoot {
  constructor(@InjectCommander() readonly root: CommanderNode) {}
}

@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [AppModule.forRoot(config), SyncModule],
      providers: [
        CommanderRoot,
        SyncCommand,
        SyncRunCommand,
        SyncListCommand,
        RunsCommand,
        DeadLettersCommand,
        DeadLettersListCommand,
        DeadLettersReplayCommand,
        AuditCommand,
        AuditVerifyCommand,
        AuditTailCommand,
      ],
    };
  }
}
