// Wires discovered connector modules, the registry and GET /connectors.
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { findConnectorModules } from './connector-loader';
import { ConnectorRegistry } from './connector.registry';
import { ConnectorsController } from './connectors.controller';
import { AppConfig } from '../config/app-config';
import { InProcessRateLimiter, RateLimiter } from './rate-limiter';

export interface ConnectorsModuleOptions {
  dir?: string;
  /** Load only these connector ids (tests); default: every folder. */
  only?: string[];
}

@Global()
@Module({})
export class ConnectorsModule {
  static forRoot(options: ConnectorsModuleOptions = {}): DynamicModule {
    const found = findConnectorModules(options.dir, options.only);
    return {
      module: ConnectorsModule,
      imports: [DiscoveryModule, ...found.map((f) => f.module)],
      providers: [
        ConnectorRegistry,
        // Without the app's configuration (a connector tested on its own) the budget is kept in-process.
        {
          provide: RateLimiter,
          inject: [{ token: AppConfig, optional: true }],
          // Shared through Redis when REDIS_URL is set (loaded only then), per process otherwise.
          useFactory: async (c?: AppConfig) =>
            c?.env.REDIS_URL
              ? (await import('../queue/redis-rate-limiter')).rateLimiterFor(c)
              : new InProcessRateLimiter(),
        },
      ],
      controllers: [ConnectorsController],
      exports: [ConnectorRegistry, RateLimiter],
    };
  }
}
