// Quarantine over the API: list and filter, correct a record, replay one or all.
import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { ActorType, type Actor } from '../audit/audit.types';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { QuarantineService, QuarantineStatus } from './quarantine.service';

const idParam = new ZodValidationPipe(z.coerce.number().int().min(1));
const ident = z.string().min(1).max(255);
// strict(): an unknown parameter is a 400 naming it, not silently ignored (a typo would list everything).
const listQuery = new ZodValidationPipe(
  z
    .object({
      connection: ident.optional(),
      object: ident.optional(),
      status: z.enum(QuarantineStatus).optional(),
      field: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_.]*$/, 'must be a canonical field name')
        .max(128)
        .optional(),
      cursor: z.coerce.number().int().min(0).optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    })
    .strict(),
);
const correctBody = new ZodValidationPipe(z.object({ record: z.record(z.string(), z.unknown()) }).strict());
const replayBody = new ZodValidationPipe(
  z.object({ connection: ident.optional(), object: ident.optional() }).strict(),
);

type ListQuery = {
  connection?: string;
  object?: string;
  status?: QuarantineStatus;
  field?: string;
  cursor?: number;
  limit?: number;
};

function actorOf(req: Request): Actor {
  return { type: ActorType.Api, id: (req as Request & { actorId?: string }).actorId ?? 'unknown' };
}

@ApiTags('quarantine')
@ApiBearerAuth()
@Controller('quarantine')
export class QuarantineController {
  constructor(private readonly quarantine: QuarantineService) {}

  @Get()
  list(@Query(listQuery) q: ListQuery) {
    return this.quarantine.list({
      connection: q.connection,
      object: q.object,
      status: q.status,
      field: q.field,
      after: q.cursor,
      limit: q.limit,
    });
  }

  @Post('replay')
  @HttpCode(200)
  replayAll(@Body(replayBody) body: { connection?: string; object?: string }, @Req() req: Request) {
    return this.quarantine.replayAll(actorOf(req), body);
  }

  @Get(':id')
  get(@Param('id', idParam) id: number) {
    return this.quarantine.get(id);
  }

  @Patch(':id')
  correct(
    @Param('id', idParam) id: number,
    @Body(correctBody) body: { record: Record<string, unknown> },
    @Req() req: Request,
  ) {
    return this.quarantine.correct(id, body.record, actorOf(req));
  }

  @Post(':id/replay')
  @HttpCode(200)
  replay(@Param('id', idParam) id: number, @Req() req: Request) {
    return this.quarantine.replay(id, actorOf(req));
  }
}
