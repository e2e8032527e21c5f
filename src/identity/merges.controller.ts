// Review queue and merge history over the API.
import { Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { ActorType, type Actor } from '../audit/audit.types';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { BlockKeyRules } from './block-key-rules.service';
import { CandidateStatus } from './identity.types';
import { MergeCandidatesService } from './merge-candidates.service';

const idParam = new ZodValidationPipe(z.coerce.number().int().min(1));
const listQuery = new ZodValidationPipe(
  z
    .object({
      status: z.enum(CandidateStatus).optional(),
      minScore: z.coerce.number().min(0).max(1).optional(),
      cursor: z.coerce.number().int().min(0).optional(),
      limit: z.coerce.number().int().min(1).max(500).optional(),
    })
    .strict(),
);

function actorOf(req: Request): Actor {
  return { type: ActorType.Api, id: (req as Request & { actorId?: string }).actorId ?? 'unknown' };
}

@ApiTags('identity')
@ApiBearerAuth()
@Controller()
export class MergesController {
  constructor(
    private readonly candidates: MergeCandidatesService,
    private readonly rules: BlockKeyRules,
  ) {}

  /** Duplicate detection's state: its mode, the customers waiting for it, a re-keying after new blocking rules. */
  @Get('duplicate-detection')
  detection() {
    return this.rules.report();
  }

  @Get('merge-candidates')
  list(
    @Query(listQuery) q: { status?: CandidateStatus; minScore?: number; cursor?: number; limit?: number },
  ) {
    return this.candidates.list({ status: q.status, minScore: q.minScore, after: q.cursor, limit: q.limit });
  }

  @Get('merge-candidates/:id')
  get(@Param('id', idParam) id: number) {
    return this.candidates.get(id);
  }

  @Post('merge-candidates/:id/accept')
  @HttpCode(200)
  accept(@Param('id', idParam) id: number, @Req() req: Request) {
    return this.candidates.accept(id, actorOf(req));
  }

  @Post('merge-candidates/:id/reject')
  @HttpCode(200)
  reject(@Param('id', idParam) id: number, @Req() req: Request) {
    return this.candidates.reject(id, actorOf(req));
  }

  @Post('merges/:id/undo')
  @HttpCode(200)
  undo(@Param('id', idParam) id: number, @Req() req: Request) {
    return this.candidates.undo(id, actorOf(req));
  }
}
