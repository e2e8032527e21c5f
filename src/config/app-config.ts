// The typed configuration injected everywhere: the validated environment plus syncline.yaml.
import { createHash } from 'node:crypto';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { databaseTarget, parseEnv, type DatabaseTarget, type Env } from './env.schema';
import { loadSynclineConfig } from './syncline-config.loader';
import type { SynclineConfig } from './syncline-config.schema';

export class AppConfig {
  readonly database: DatabaseTarget;
  /** SHA-256 hashes of the configured API tokens; the tokens themselves are not kept. */
  readonly apiTokenHashes: Buffer[];

  constructor(
    readonly env: Env,
    readonly syncline: SynclineConfig,
  ) {
    this.database = databaseTarget(env);
    this.apiTokenHashes = env.SYNCLINE_API_TOKENS.split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => createHash('sha256').update(t).digest());
  }

  static fromEnvironment(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const env = parseEnv(source);
    return new AppConfig(env, loadSynclineConfig(env.SYNCLINE_CONFIG));
  }
}

@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      providers: [{ provide: AppConfig, useFactory: () => config ?? AppConfig.fromEnvironment() }],
      exports: [AppConfig],
    };
  }
}
