// Binds the job-queue port: BullMQ when REDIS_URL is set (several workers, one Redis), in-process otherwise.
// Also holds the `syncline worker` command, which runs this binding without the HTTP surface.
// BullMQ and its Redis client are loaded only when REDIS_URL is set: the embedded default never pays for them
// (~4 MB of V8 heap and ~20 MB of RSS with msgpackr's native part).
import { Module } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { EngineThreadJobQueue, engineThreadWanted } from './engine-thread';
import { InProcessJobQueue } from './in-process-job-queue';
import { JobQueue } from './job-queue';
import { MetricsService } from './metrics.service';
import { WorkerCommand } from './worker.command';

export async function jobQueueFor(config: AppConfig, registry?: SchedulerRegistry): Promise<JobQueue> {
  const url = config.env.REDIS_URL;
  if (!url && engineThreadWanted(config)) return new EngineThreadJobQueue(config);
  if (!url) return new InProcessJobQueue(registry);
  const { BullmqJobQueue } = await import('./bullmq-job-queue');
  return new BullmqJobQueue({ url, prefix: config.env.QUEUE_PREFIX, lockMs: config.env.QUEUE_LOCK_MS });
}

@Module({
  providers: [
    {
      provide: JobQueue,
      inject: [AppConfig, { token: SchedulerRegistry, optional: true }],
      useFactory: jobQueueFor,
    },
    MetricsService,
    WorkerCommand,
  ],
  exports: [JobQueue, MetricsService],
})
export class QueueModule {}
