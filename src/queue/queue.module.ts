// Binds the job-queue port: BullMQ when REDIS_URL is set (several workers, one Redis), in-process otherwise.
// Also holds the `syncline worker` command, which runs this binding without the HTTP surface.
import { Module } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { BullmqJobQueue } from './bullmq-job-queue';
import { EngineThreadJobQueue, engineThreadWanted } from './engine-thread';
import { InProcessJobQueue } from './in-process-job-queue';
import { JobQueue } from './job-queue';
import { WorkerCommand } from './worker.command';

export function jobQueueFor(config: AppConfig, registry?: SchedulerRegistry): JobQueue {
  const url = config.env.REDIS_URL;
  if (!url && engineThreadWanted(config)) return new EngineThreadJobQueue(config);
  if (!url) return new InProcessJobQueue(registry);
  return new BullmqJobQueue({ url, prefix: config.env.QUEUE_PREFIX, lockMs: config.env.QUEUE_LOCK_MS });
}

@Module({
  providers: [
    {
      provide: JobQueue,
      inject: [AppConfig, { token: SchedulerRegistry, optional: true }],
      useFactory: jobQueueFor,
    },
    WorkerCommand,
  ],
  exports: [JobQueue],
})
export class QueueModule {}
