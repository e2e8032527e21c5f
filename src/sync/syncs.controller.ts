// Admin API for connections, syncs, runs, cursors and dead letters. Every change is audited by the services.
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { ActorType, type Actor } from '../audit/audit.types';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { EngineThreadJobQueue } from '../queue/engine-thread';
import { JobName, JobQueue } from '../queue/job-queue';
import { ConnectionsService, describeCredentials } from './connections.service';
import { OutboxService } from './outbox.service';
import { ReconciliationService } from './reconciliation.service';
import { SyncRunner } from './sync-runner.service';
import { SyncScheduler } from './sync-scheduler.service';
import { RunTrigger } from './sync.types';
import { SyncsService } from './syncs.service';

const idParam = new ZodValidationPipe(
  z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be an id of lowercase letters, digits, "-" or "_"'),
);
const runBody = z.object({ dryRun: z.boolean().default(false), wait: z.boolean().default(false) }).strict();
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) }).strict();
const outcomesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    after: z.coerce.number().int().min(0).default(0),
  })
  .strict();
const replayBody = z.object({ ids: z.array(z.number().int().positive()).min(1).optional() }).strict();

export function actorOf(req: Request): Actor {
  return { type: ActorType.Api, id: (req as Request & { actorId?: string }).actorId ?? 'unknown' };
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller()
export class SyncsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly syncs: SyncsService,
    private readonly runner: SyncRunner,
    private readonly outbox: OutboxService,
    private readonly queue: JobQueue,
    private readonly scheduler: SyncScheduler,
    private readonly reconciliation: ReconciliationService,
  ) {}

  @Get('connections')
  async listConnections() {
    return {
      connections: (await this.connections.list()).map((c) => ({
        ...c,
        credentials: describeCredentials(c.credentials),
      })),
    };
  }

  @Put('connections/:id')
  async putConnection(
    @Param('id', idParam) id: string,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    const c = await this.connections.upsert({ ...body, id }, actorOf(req));
    return { ...c, credentials: describeCredentials(c.credentials) };
  }

  @Delete('connections/:id')
  @HttpCode(204)
  async deleteConnection(@Param('id', idParam) id: string, @Req() req: Request) {
    await this.connections.remove(id, actorOf(req));
  }

  @Get('syncs')
  async listSyncs() {
    return { syncs: await this.syncs.list() };
  }

  @Get('syncs/:id')
  getSync(@Param('id', idParam) id: string) {
    return this.syncs.get(id);
  }

  @Put('syncs/:id')
  async putSync(
    @Param('id', idParam) id: string,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    const s = await this.syncs.upsert({ ...body, id }, actorOf(req));
    this.scheduler.refresh(s);
    return s;
  }

  @Delete('syncs/:id')
  @HttpCode(204)
  async deleteSync(@Param('id', idParam) id: string, @Req() req: Request) {
    await this.syncs.remove(id, actorOf(req));
    this.scheduler.unschedule(id);
  }

  @Post('syncs/:id/pause')
  @HttpCode(200)
  async pause(@Param('id', idParam) id: string, @Req() req: Request) {
    const s = await this.syncs.setPaused(id, true, actorOf(req));
    this.scheduler.refresh(s);
    return s;
  }

  @Post('syncs/:id/resume')
  @HttpCode(200)
  async resume(@Param('id', idParam) id: string, @Req() req: Request) {
    const s = await this.syncs.setPaused(id, false, actorOf(req));
    this.scheduler.refresh(s);
    return s;
  }

  @Post('syncs/:id/cursor/reset')
  @HttpCode(200)
  async resetCursor(@Param('id', idParam) id: string, @Req() req: Request) {
    await this.syncs.ensureNotRunning(id);
    await this.syncs.resetCursor(id, actorOf(req));
    return { syncId: id, cursor: null };
  }

  /** Triggers a run: queued (202-style answer) or, with wait: true, run now and return its summary. */
  @Post('syncs/:id/runs')
  @HttpCode(200)
  async trigger(
    @Param('id', idParam) id: string,
    @Body(new ZodValidationPipe(runBody)) body: z.infer<typeof runBody>,
    @Req() req: Request,
  ) {
    await this.syncs.get(id);
    if (body.wait || body.dryRun) {
      const options = { trigger: RunTrigger.Api, dryRun: body.dryRun, actor: actorOf(req) };
      // With the engine on its own thread, the run goes there too (see queue/engine-thread.ts).
      return this.queue instanceof EngineThreadJobQueue
        ? this.queue.runSync(id, options)
        : this.runner.run(id, options);
    }
    await this.queue.add(JobName.SyncRun, { syncId: id, trigger: RunTrigger.Api }, { jobId: `sync:${id}` });
    return { syncId: id, queued: true };
  }

  /** Compares canonical with each destination (read back through the connector) and reports drift by record. */
  @Post('syncs/:id/reconcile')
  @HttpCode(200)
  reconcile(@Param('id', idParam) id: string) {
    return this.reconciliation.reconcile(id);
  }

  @Get('syncs/:id/runs')
  async runs(
    @Param('id', idParam) id: string,
    @Query(new ZodValidationPipe(listQuery)) q: z.infer<typeof listQuery>,
  ) {
    await this.syncs.get(id);
    return { runs: await this.runner.runs(id, q.limit) };
  }

  @Get('runs/:runId/outcomes')
  async outcomes(
    @Param('runId', new ZodValidationPipe(z.uuid())) runId: string,
    @Query(new ZodValidationPipe(outcomesQuery)) q: z.infer<typeof outcomesQuery>,
  ) {
    const outcomes = await this.runner.outcomes(runId, q.limit, q.after);
    return {
      outcomes,
      nextCursor: outcomes.length === q.limit ? String(outcomes[outcomes.length - 1].id) : null,
    };
  }

  @Get('dead-letters')
  async deadLetters(@Query(new ZodValidationPipe(listQuery)) q: z.infer<typeof listQuery>) {
    return { deadLetters: await this.outbox.deadLetters(q.limit) };
  }

  @Post('dead-letters/replay')
  @HttpCode(200)
  async replay(
    @Body(new ZodValidationPipe(replayBody)) body: z.infer<typeof replayBody>,
    @Req() req: Request,
  ) {
    const replayed = await this.outbox.replayDeadLetters(body.ids ?? 'all', actorOf(req));
    for (const t of await this.outbox.dueTargets())
      await this.queue.add(JobName.DrainOutbox, t, { jobId: `drain:${t.connection}:${t.object}` });
    return { replayed };
  }
}
