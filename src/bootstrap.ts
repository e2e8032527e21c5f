// Builds the HTTP application the same way for the service, the demo and the tests.
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, urlencoded, text } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { WebhookReceiver } from './sync/webhook-receiver';

export async function createApp(
  config: AppConfig = AppConfig.fromEnvironment(),
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  const limit = config.env.BODY_LIMIT;
  // Raw bodies are kept for webhook signature checks, which must see the exact bytes the vendor signed.
  const keepRaw = (req: IncomingMessage, _res: unknown, buf: Buffer) => {
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
  };
  app.use(json({ limit, verify: keepRaw }));
  app.use(
    text({
      limit,
      type: ['text/xml', 'application/xml', 'application/soap+xml', 'text/plain'],
      verify: keepRaw,
    }),
  );
  app.use(urlencoded({ limit, extended: false, verify: keepRaw }));
  // Webhook deliveries are answered ahead of Express (see webhook-receiver.ts).
  app.get(WebhookReceiver).attach(app.getHttpServer(), limit);
  app.enableShutdownHooks();
  const docs = new DocumentBuilder()
    .setTitle('Syncline')
    .setDescription('Customer data sync between CRMs and email service providers')
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, docs));
  return app;
}
