// The sync engine: configuration services, inbound and outbound paths, runs, webhooks, scheduling.
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { QueueModule } from '../queue/queue.module';
import { ConnectionsService } from './connections.service';
import { InboundService } from './inbound.service';
import { MappingAuditService } from './mapping-audit.service';
import { OutboxService } from './outbox.service';
import { ReconciliationService } from './reconciliation.service';
import { SyncRunner } from './sync-runner.service';
import { SyncScheduler } from './sync-scheduler.service';
import { SyncsController } from './syncs.controller';
import { SyncsService } from './syncs.service';
import { WebhookInboxService } from './webhook-inbox.service';
import { WebhookReceiver } from './webhook-receiver';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [ScheduleModule.forRoot(), QueueModule],
  providers: [
    ConnectionsService,
    SyncsService,
    InboundService,
    OutboxService,
    SyncRunner,
    WebhookInboxService,
    WebhookReceiver,
    SyncScheduler,
    ReconciliationService,
    MappingAuditService,
  ],
  controllers: [SyncsController, WebhooksController],
  exports: [
    ReconciliationService,
    ConnectionsService,
    SyncsService,
    InboundService,
    OutboxService,
    SyncRunner,
    WebhookInboxService,
    WebhookReceiver,
    SyncScheduler,
    QueueModule,
  ],
})
export class SyncModule {}
