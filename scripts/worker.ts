// Runs one Syncline worker without the CLI: `ts-node -T scripts/worker.ts`. Boots the application context (same
// AppModule and configuration as the service, no HTTP), processes jobs until SIGTERM/SIGINT, then closes
// gracefully. The scale-out tests spawn several of these against one Redis and one PostgreSQL.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../src/app.module';
import { AppConfig } from '../src/config/app-config';
import { ConfigError } from '../src/config/env.schema';
import { DataSource } from 'typeorm';
import { JobQueue } from '../src/queue/job-queue';
import { MetricsService } from '../src/queue/metrics.service';
import { shutdownSignal, workUntilStopped } from '../src/queue/worker.command';

async function main(): Promise<number> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnvironment();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`syncline worker: ${err.message}\n`);
      return 78;
    }
    throw err;
  }
  const stopping = shutdownSignal();
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  await app.init();
  // On stdout on purpose: whoever started the worker (a supervisor, the tests) waits for this line.
  await workUntilStopped(
    { queue: app.get(JobQueue), dataSource: app.get(DataSource), metrics: app.get(MetricsService) },
    config,
    stopping,
    (line) => process.stdout.write(`${line}\n`),
  );
  await app.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `syncline worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
