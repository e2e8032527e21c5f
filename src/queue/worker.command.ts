// `syncline worker`: processes jobs (sync runs, webhook inbox, outbound batches) until SIGTERM or SIGINT, with no
// HTTP listener. The application context is already booted by the CLI, and with it the job handlers, the
// schedules and the sweep; this command only keeps the process alive and closes the queue gracefully. Several
// workers can run against one Redis and one PostgreSQL.
import { Logger } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { AppConfig } from '../config/app-config';
import { JobQueue } from './job-queue';

/** Resolves on the first SIGTERM or SIGINT. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** One line saying what this worker serves, so an operator sees a worker without Redis is a lone process. */
export function workerBanner(config: AppConfig): string {
  const queue = config.env.REDIS_URL
    ? `BullMQ (prefix ${config.env.QUEUE_PREFIX})`
    : 'in-process (no REDIS_URL: this worker is alone)';
  return `syncline worker ${process.pid} ready: queue ${queue}, database ${config.database.type}`;
}

@Command({
  name: 'worker',
  description: 'process jobs (sync runs, webhooks, outbound batches) until SIGTERM; no HTTP',
})
export class WorkerCommand extends CommandRunner {
  private readonly log = new Logger('Worker');

  constructor(
    private readonly queue: JobQueue,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run(): Promise<void> {
    this.log.log(workerBanner(this.config));
    const signal = await shutdownSignal();
    this.log.log(`${signal}: finishing running jobs`);
    // Closing here (not only at app close) lets running jobs finish while the database is still open.
    await this.queue.close();
  }
}
