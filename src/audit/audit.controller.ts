import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { AuditService } from './audit.service';
import { ActorType, AuditEntity } from './audit.types';

const auditQuery = z
  .object({
    entity: z.enum(AuditEntity).optional(),
    entityId: z.string().min(1).max(128).optional(),
    actor: z.enum(ActorType).optional(),
    actorId: z.string().min(1).max(128).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().regex(/^\d+$/, 'must be a cursor returned by a previous page').optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(@Query(new ZodValidationPipe(auditQuery)) q: z.infer<typeof auditQuery>) {
    return this.audit.list({
      entityType: q.entity,
      entityId: q.entityId,
      actorType: q.actor,
      actorId: q.actorId,
      since: q.since,
      after: q.cursor ? Number(q.cursor) : undefined,
      limit: q.limit,
    });
  }

  @Get('verify')
  verify() {
    return this.audit.verify();
  }
}
