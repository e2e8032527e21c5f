// Boots the real application (real database, real modules) for integration tests.
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../../src/bootstrap';
import { AppConfig } from '../../src/config/app-config';
import { parseEnv, type DatabaseTarget } from '../../src/config/env.schema';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from './test-database';

export const TEST_TOKEN = 'test-token-0123456789';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  target: DatabaseTarget;
  close(): Promise<void>;
}

/** `target`: the database to boot on; by default a SQLite file, or a PostgreSQL schema when DATABASE_URL says so. */
export async function startTestApp(
  env: Record<string, string> = {},
  target: DatabaseTarget = testDatabaseTarget(),
): Promise<TestApp> {
  const config = new AppConfig(
    parseEnv({
      LOG_LEVEL: 'silent',
      SYNCLINE_API_TOKENS: TEST_TOKEN,
      SYNCLINE_CONFIG: '/nonexistent/syncline.yaml',
      ...(process.env.SYNCLINE_CONNECTORS ? { SYNCLINE_CONNECTORS: process.env.SYNCLINE_CONNECTORS } : {}),
      ...testDatabaseEnv(target),
      ...env,
    }),
    { version: 1, connections: [], syncs: [] },
  );
  const app = await createApp(config);
  await app.init();
  return {
    app,
    config,
    target,
    close: async () => {
      await app.close();
      await dropTestDatabase(target);
    },
  };
}
