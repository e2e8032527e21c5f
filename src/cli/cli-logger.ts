// Nest's logger for the CLI: warnings and errors on stderr as one short line each, so they never interleave
// with the tables on stdout; debug output only when LOG_LEVEL asks for it.
import type { LoggerService } from '@nestjs/common';
import type { Env } from '../config/env.schema';

const RANK: Record<Env['LOG_LEVEL'], number> = {
  trace: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  fatal: 5,
  silent: 6,
};

export class CliLogger implements LoggerService {
  // "info" is the service's default; Nest's boot chatter at info level is noise on a command line.
  private readonly min: number;

  constructor(level: Env['LOG_LEVEL']) {
    this.min = Math.max(RANK[level], level === 'info' ? RANK.warn : 0);
  }

  log(message: unknown, context?: string): void {
    this.write(RANK.info, 'info', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write(
      RANK.error,
      'error',
      message,
      typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined,
    );
  }
  warn(message: unknown, context?: string): void {
    this.write(RANK.warn, 'warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write(RANK.debug, 'debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write(RANK.trace, 'trace', message, context);
  }

  private write(rank: number, label: string, message: unknown, context?: string): void {
    if (rank < this.min) return;
    const text =
      message instanceof Error
        ? message.message
        : typeof message === 'string'
          ? message
          : JSON.stringify(message);
    process.stderr.write(`${label}${context ? ` [${context}]` : ''}: ${text}\n`);
  }
}
