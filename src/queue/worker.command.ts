// `syncline worker`: processes jobs (sync runs, webhook inbox, outbound batches) until SIGTERM or SIGINT, with no
// HTTP listener. The application context is already booted by the CLI, and with it the job handlers, the
// schedules and the sweep; this command only keeps the process alive and closes the queue gracefully. Several
// workers can run against one Redis and one PostgreSQL.
import { Logger } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { JobQueue } from './job-queue';
import { MetricsService } from './metrics.service';
import { startWorkerHealthServer } from './worker-health';

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

/**
 * The life of a worker once its application context is up: announces itself (with its health endpoint when
 * WORKER_HEALTH_PORT is set), works until `stopping` resolves, then reports 503 on /health while its running jobs
 * finish and closes the queue. The database stays open until the caller closes the context.
 */
export async function workUntilStopped(
  { queue, dataSource, metrics }: { queue: JobQueue; dataSource: DataSource; metrics: MetricsService },
  config: AppConfig,
  stopping: Promise<NodeJS.Signals>,
  announce: (line: string) => void,
): Promise<void> {
  const log = new Logger('Worker');
  const port = config.env.WORKER_HEALTH_PORT;
  const health =
    port === undefined
      ? undefined
      : await startWorkerHealthServer(dataSource, queue, config.env.HOST, port, () => metrics.render());
  announce(
    `${workerBanner(config)}${health ? `, health on http://${config.env.HOST}:${health.port}/health` : ''}`,
  );
  const signal = await stopping;
  health?.stopping();
  log.log(`${signal}: finishing running jobs`);
  try {
    // Closing here (not only at app close) lets running jobs finish while the database is still open.
    await queue.close();
  } finally {
    await health?.close();
  }
}

@Command({
  name: 'worker',
  description:
    'process jobs (sync runs, webhooks, outbound batches) until SIGTERM; no HTTP API (GET /health on WORKER_HEALTH_PORT)',
})
export class WorkerCommand extends CommandRunner {
  constructor(
    private readonly queue: JobQueue,
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run(): Promise<void> {
    await workUntilStopped(
      { queue: this.queue, dataSource: this.dataSource, metrics: this.metrics },
      this.config,
      shutdownSignal(),
      // On stdout, not the log: the CLI logs warnings only by default, and a supervisor waits for this line.
      (line) => process.stdout.write(`${line}\n`),
    );
  }
}
