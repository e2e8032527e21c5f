// Per-sync schedules through the job queue (a cron in-process, one BullMQ job scheduler for the cluster on Redis).
// Scheduled ticks stay thin: they enqueue a sync-run job, the same job the API and CLI trigger. A background sweep
// re-enqueues due outbox retries and inbox events, so work that was due while the process was down is picked up
// at boot; on a shared queue it runs in every process, and job ids coalesce what they enqueue. It also paces the
// re-keying of the base after a change of the blocking rules (BlockKeyRules).
import {
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ConflictException } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BlockKeyRules } from '../identity/block-key-rules.service';
import { BACKGROUND_BATCH, DuplicateDetector } from '../identity/duplicate-detector.service';
import { engineThreadWanted } from '../queue/engine-thread';
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
    private readonly syncs: SyncsService,
    private readonly queue: JobQueue,
    private readonly runner: SyncRunner,
    private readonly outbox: OutboxService,
    private readonly inbox: WebhookInboxService,
    private readonly config: AppConfig,
    @Optional() private readonly duplicates?: DuplicateDetector,
    @Optional() private readonly blockRules?: BlockKeyRules,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Off here, or done by the engine thread (which declares the schedules and sweeps itself).
    if (this.config.env.SYNCLINE_BACKGROUND_JOBS === 'off' || engineThreadWanted(this.config)) return;
    this.queue.process<{ syncId: string; trigger?: RunTrigger }>(
      JobName.SyncRun,
      async ({ syncId, trigger }) => {
        try {
          const s = await this.syncs.get(syncId);
          if (s.paused && trigger === RunTrigger.Schedule) return;
          await this.runner.run(syncId, { trigger: trigger ?? RunTrigger.Schedule });
        } catch (err) {
          if (err instanceof ConflictException) return; // already running elsewhere: this tick is covered
          throw err;
        }
      },
      { concurrency: 2 },
    );
    this.queue.process<{ connectionId: string }>(
      JobName.ProcessInbox,
      async ({ connectionId }) => {
        for (let i = 0; i < 1000; i++) {
          const c = await this.inbox.process(connectionId);
          if (!c.read && !c.deleted) break;
        }
      },
      { concurrency: 4 },
    );
    this.queue.process<{
      connection?: string;
      object?: string;
      destinations?: { connection: string; object: string }[];
      runId?: string;
    }>(
      JobName.DrainOutbox,
      // One destination, or a cluster run's destinations in order (queued by its reader, with the run's id: their
      // outcomes count for that run).
      async ({ connection, object, destinations, runId }) => {
        for (const d of destinations ?? [{ connection: connection!, object: object! }])
          await this.outbox.drain(d.connection, d.object, { runId: runId ?? null });
      },
      { concurrency: 4 },
    );
    this.queue.process<{ runId: string; seq: number }>(
      JobName.ApplyPage,
      async ({ runId, seq }) => this.runner.applyPage(runId, seq),
      { concurrency: 1 },
    );
    this.queue.process(
      JobName.DetectDuplicates,
      async () => {
        await this.duplicates?.drain(BACKGROUND_BATCH);
      },
      { concurrency: 1 },
    );
    for (const s of await this.syncs.list()) await this.refresh(s);
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    await this.sweep();
  }

  onApplicationShutdown(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // Schedules are not removed here: on a shared queue they belong to the cluster, not to this process.
  }

  /**
   * (Re)declares the schedule of a sync to match its definition and paused flag, through the job queue (a cron
   * here, one BullMQ job scheduler for the whole cluster on Redis). Never rejects: a failure is logged, and the
   * next boot or change declares it again.
   */
  async refresh(s: StoredSync): Promise<void> {
    try {
      if (!s.definition.schedule || s.paused || !s.definition.enabled)
        return await this.queue.unschedule(`sync:${s.id}`);
      await this.queue.schedule(`sync:${s.id}`, s.definition.schedule, JobName.SyncRun, {
        syncId: s.id,
        trigger: RunTrigger.Schedule,
      });
    } catch (err) {
      this.log.warn(`scheduling sync ${s.id} failed: ${(err as Error).message}`);
    }
  }

  async unschedule(id: string): Promise<void> {
    await this.queue
      .unschedule(`sync:${id}`)
      .catch((err: Error) => this.log.warn(`unscheduling sync ${id} failed: ${err.message}`));
  }

  /** Enqueues whatever is due: outbox retries, unprocessed inbox events and pending duplicate detection. */
  async sweep(): Promise<void> {
    try {
      // A running sync drains its own destinations when its read ends (and counts what it sent); leave them to it.
      const busy = await this.syncs.destinationsOfRunningSyncs();
      for (const t of await this.outbox.dueTargets()) {
        if (busy.has(`${t.connection}\u0000${t.object}`)) continue;
        await this.queue.add(JobName.DrainOutbox, t, { jobId: `drain:${t.connection}:${t.object}` });
      }
      for (const c of await this.inbox.pendingConnections())
        await this.queue.add(JobName.ProcessInbox, { connectionId: c }, { jobId: `inbox:${c}` });
      // After a release changed the blocking rules, the next slice of the base to detect again (see BlockKeyRules).
      await this.blockRules
        ?.step()
        .catch((err: Error) => this.log.warn(`re-keying for new blocking rules failed: ${err.message}`));
      // Customers changed while detection was not running (a crash, a webhook burst) are detected here.
      if (await this.duplicates?.hasPending())
        await this.queue.add(JobName.DetectDuplicates, {}, { jobId: 'detect-duplicates' });
    } catch (err) {
      this.log.warn(`sweep failed: ${(err as Error).message}`);
    }
  }
}
