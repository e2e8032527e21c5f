// Service entry point: validate configuration, migrate, listen.
import 'reflect-metadata';
import { ConfigError } from './config/env.schema';
import { AppConfig } from './config/app-config';
import { createApp } from './bootstrap';

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
  const app = await createApp(config);
  await app.listen(config.env.PORT, config.env.HOST);
  process.stdout.write(
    `syncline listening on http://${config.env.HOST}:${config.env.PORT} (database: ${config.database.type})\n`,
  );
}

void main();
