// Per-sync cron through @nestjs/schedule's registry. Cron callbacks stay thin: they enqueue a sync-run job, the
// same job the API and CLI trigger. A background sweep re-enqueues due outbox retries and inbox events, so work
// that was due while the process was down is picked up at boot.
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { ConflictException } from '@nestjs/common';
import { JobName, JobQueue } from '../queue/job-queue';
import { OutboxService } from './outbox.service';
import { SyncRunner } from './sync-runner.service';
import { RunTrigger } from './sync.types';
import { SyncsService, type StoredSync } from './syncs.service';
import { WebhookInboxService } from './webhook-inbox.service';

const SWEEP_MS = 2000;

@Injectable()
export class SyncScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('SyncScheduler');
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly syncs: SyncsService,
    private readonly queue: JobQueue,
    private readonly runner: SyncRunner,
    private readonly outbox: OutboxService,
    private readonly inbox: WebhookInboxService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.queue.process<{ syncId: string; trigger?: RunTrigger }>(JobName.SyncRun, async ({ syncId, trigger }) => {
      try {
        const s = await this.syncs.get(syncId);
        if (s.paused && trigger === RunTrigger.Schedule) return;
        await this.runner.run(syncId, { trigger: trigger ?? RunTrigger.Schedule });
      } catch (err) {
        if (err instanceof ConflictException) return; // already running elsewhere: this tick is covered
        throw err;
      }
    }, { concurrency: 2 });
    this.queue.process<{ connectionId: string }>(JobName.ProcessInbox, async ({ connectionId }) => {
      for (let i = 0; i < 1000; i++) {
        const c = await this.inbox.process(connectionId);
        if (!c.read && !c.deleted) break;
      }
    }, { concurrency: 4 });
    this.queue.process<{ connection: string; object: string }>(JobName.DrainOutbox, async ({ connection, object }) => {
      await this.outbox.drain(connection, object);
    }, { concurrency: 4 });
    for (const s of await this.syncs.list()) this.refresh(s);
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    await this.sweep();
  }

  onApplicationShutdown(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const name of this.registry.getCronJobs().keys()) if (name.startsWith('sync:')) this.unschedule(name.slice(5));
  }

  /** (Re)registers the cron job of a sync to match its definition and paused flag. */
  refresh(s: StoredSync): void {
    this.unschedule(s.id);
    if (!s.definition.schedule || s.paused || !s.definition.enabled) return;
    const job = CronJob.from({
      cronTime: s.definition.schedule,
      onTick: () => void this.queue.add(JobName.SyncRun, { syncId: s.id, trigger: RunTrigger.Schedule }, { jobId: `sync:${s.id}` }),
      start: true,
    });
    this.registry.addCronJob(`sync:${s.id}`, job);
  }

  unschedule(id: string): void {
    const name = `sync:${id}`;
    if (this.registry.doesExist('cron', name)) {
      this.registry.getCronJob(name).stop();
      this.registry.deleteCronJob(name);
    }
  }

  /** Enqueues whatever is due: outbox retries and unprocessed inbox events. */
  async sweep(): Promise<void> {
    try {
      for (const t of await this.outbox.dueTargets()) await this.queue.add(JobName.DrainOutbox, t, { jobId: `drain:${t.connection}:${t.object}` });
      for (const c of await this.inbox.pendingConnections()) await this.queue.add(JobName.ProcessInbox, { connectionId: c }, { jobId: `inbox:${c}` });
    } catch (err) {
      this.log.warn(`sweep failed: ${(err as Error).message}`);
    }
  }
}
