// The Syncline service: configuration, store, audit, canonical model and HTTP surface.
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module';
import { CanonicalModule } from './canonical/canonical.module';
import { CommonModule } from './common/common.module';
import { AppConfig, AppConfigModule } from './config/app-config';
import { ApiTokenGuard } from './http/api-token.guard';
import { HealthController } from './http/health.controller';
import { MetricsController } from './http/metrics.controller';
import { StoreModule } from './store/store.module';
import { ConnectorsModule } from './connectors/connectors.module';
import { MappingModule } from './mapping/mapping.module';
import { SyncModule } from './sync/sync.module';
import { PrivacyModule } from './privacy/privacy.module';
import { ConsentModule } from './consent/consent.module';
import { IdentityModule } from './identity/identity.module';
import { QuarantineModule } from './quarantine/quarantine.module';
import { redactLogArgs } from './privacy/redact';

/** Header and field names whose values never reach a log line. */
export const LOG_REDACTIONS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-hubspot-signature"]',
  'req.headers["x-hubspot-signature-v3"]',
  'req.headers["x-twilio-email-event-webhook-signature"]',
  'res.headers["set-cookie"]',
  '*.accessToken',
  '*.refreshToken',
  '*.clientSecret',
  '*.apiKey',
  '*.webhookSecret',
  '*.password',
  '*.credentials',
];

@Module({})
export class AppModule {
  static forRoot(config?: AppConfig): DynamicModule {
    const cfg = config ?? AppConfig.fromEnvironment();
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(cfg),
        LoggerModule.forRoot({
          pinoHttp: {
            level: cfg.env.LOG_LEVEL,
            redact: { paths: LOG_REDACTIONS, censor: '[redacted]' },
            // Query strings can carry personal data (emails in filters) and secrets (the Salesforce Outbound Message
            // URL's ?token=); log the path only, and no response headers.
            serializers: {
              req: (req: { id: unknown; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                path: req.url.split('?')[0],
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            // Last line of defence: emails, phones, tokens and keys in any message (vendor errors quote them) are masked.
            hooks: {
              logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
                method.apply(this, redactLogArgs(args));
              },
            },
          },
        }),
        CommonModule,
        TerminusModule,
        StoreModule,
        AuditModule,
        CanonicalModule,
        MappingModule.forRoot({ connectors: cfg.env.SYNCLINE_CONNECTORS }),
        ConnectorsModule.forRoot({ only: cfg.env.SYNCLINE_CONNECTORS }),
        SyncModule,
        PrivacyModule,
        ConsentModule,
        IdentityModule,
        QuarantineModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [{ provide: APP_GUARD, useClass: ApiTokenGuard }],
    };
  }
}
