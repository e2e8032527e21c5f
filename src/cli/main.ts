#!/usr/bin/env node
// The `syncline` command line: boots the application context (same AppModule and configuration as the service,
// no HTTP listener), runs one command, closes, and exits 0 (ok), 1 (failure) or 2 (usage).
import 'reflect-metadata';
import { CommandFactory, CommandRunnerService } from 'nest-commander';
import { AppConfig } from '../config/app-config';
import { ConfigError } from '../config/env.schema';
import { JobQueue } from '../queue/job-queue';
import { CliFailure, ExitCode } from './cli-output';
import { CliLogger } from './cli-logger';
import { CliModule, CommanderRoot, type CommanderNode } from './cli.module';

interface CommanderErrorLike extends Error {
  exitCode: number;
  code: string;
}

const isCommanderError = (e: unknown): e is CommanderErrorLike =>
  e instanceof Error &&
  typeof (e as CommanderErrorLike).code === 'string' &&
  (e as CommanderErrorLike).code.startsWith('commander.');

/** Maps anything a command throws to an exit code and one line on stderr (commander already printed its own). */
export function exitCodeFor(err: unknown): ExitCode {
  if (isCommanderError(err)) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`syncline: ${message}\n`);
  // Anything else (an unknown sync, a run already in progress, a database error) is a failure, not a usage error.
  return err instanceof CliFailure ? err.exitCode : ExitCode.Failure;
}

/** Commander exits the process on parse errors unless every command, not just the root, is told otherwise. */
function throwInsteadOfExit(cmd: CommanderNode): void {
  cmd.exitOverride((err) => {
    throw err;
  });
  cmd.commands.forEach(throwInsteadOfExit);
}

/**
 * Runs one command line (argv as process.argv: node, script, args…) and resolves to its exit code. Specs call it
 * in-process with their own config; the entry point below uses the environment.
 */
export async function runCli(
  argv: string[] = process.argv,
  configure: () => AppConfig = () => AppConfig.fromEnvironment(),
): Promise<ExitCode> {
  let config: AppConfig;
  try {
    config = configure();
    // One-shot commands do no background work (schedules, sweeps); only `syncline worker` is a long-lived worker.
    if (!argv.slice(2).includes('worker') && config.env.SYNCLINE_BACKGROUND_JOBS === 'on') {
      config = new AppConfig({ ...config.env, SYNCLINE_BACKGROUND_JOBS: 'off' }, config.syncline);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`syncline: ${err.message}\n`);
      return ExitCode.Failure;
    }
    throw err;
  }
  let code = ExitCode.Ok;
  const app = await CommandFactory.createWithoutRunning(CliModule.forRoot(config), {
    cliName: 'syncline',
    logger: new CliLogger(config.env.LOG_LEVEL),
    abortOnError: false,
    serviceErrorHandler: (err) => {
      code = exitCodeFor(err);
    },
  });
  try {
    const root = app.get(CommanderRoot).root;
    root.name('syncline');
    throwInsteadOfExit(root);
    // The runner service rather than CommandFactory.runApplication, to parse the argv given here.
    await app.get(CommandRunnerService).run(argv);
    // Work the boot sweep picked up (due outbox rows, inbox events) finishes rather than being cut mid-batch.
    await app
      .get(JobQueue)
      .idle(15_000)
      .catch(() => undefined);
  } finally {
    await app.close();
  }
  return code;
}

if (require.main === module) {
  runCli().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`syncline: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(ExitCode.Failure);
    },
  );
}
