// Service entry point: validate configuration, migrate, listen.
import 'reflect-metadata';
import { ConfigError } from './config/env.schema';
import { AppConfig } from './config/app-config';
import { createApp } from './bootstrap';
import { EngineThreadJobQueue, engineThreadPossible } from './queue/engine-thread';
import { JobQueue } from './queue/job-queue';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnvironment();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`syncline: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  // The service runs its engine on a thread of its own where it can (see queue/engine-thread.ts).
  if (config.env.SYNCLINE_ENGINE_THREAD === 'auto')
    config = new AppConfig(
      {
        ...config.env,
        SYNCLINE_ENGINE_THREAD: engineThreadPossible(config) ? 'on' : 'off',
      },
      config.syncline,
    );
  const app = await createApp(config);
  const queue = app.get(JobQueue);
  if (queue instanceof EngineThreadJobQueue)
    void queue.crashed.then((err) => {
      // Crash-only: acknowledged deliveries are in the inbox and runs resume from their cursors after a restart.
      process.stderr.write(`syncline: ${err.message}; exiting so the service is restarted\n`);
      process.exit(70);
    });
  await app.listen(config.env.PORT, config.env.HOST);
  process.stdout.write(
    `syncline listening on http://${config.env.HOST}:${config.env.PORT} (database: ${config.database.type}; engine: ${
      queue instanceof EngineThreadJobQueue ? 'own thread' : 'this thread'
    })\n`,
  );
}

void main();
