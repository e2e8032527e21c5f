// POST /mappings/preview: what a raw vendor record becomes, without touching the store. It maps the record
// inbound with its own mapping and then outbound with every other mapping, naming each mapping version used, so
// an integrator can check a mapping change before a sync runs it. Read-only and side-effect free by design.
import { Body, Controller, HttpCode, NotFoundException, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { mapInbound, mapOutbound } from './mapping.engine';
import { MappingRegistry } from './mapping.registry';
import type { MappingIssue } from './mapping.types';

export const previewBodySchema = z.object({
  connector: z.string().min(1),
  object: z.string().min(1),
  /** The vendor record as its API returns it (what the connector's read yields as `data`). */
  record: z.record(z.string(), z.unknown()),
});

export type PreviewBody = z.infer<typeof previewBodySchema>;

export interface PreviewResponse {
  connector: string;
  object: string;
  canonical: {
    fields: Record<string, unknown>;
    externalId: string | null;
    sourceTimestamp: string;
    issues: MappingIssue[];
    mappingVersion: number;
  };
  outbound: {
    connector: string;
    object: string;
    record: Record<string, unknown>;
    issues: MappingIssue[];
    mappingVersion: number;
  }[];
}

@ApiTags('mappings')
@ApiBearerAuth()
@Controller('mappings')
export class MappingPreviewController {
  constructor(private readonly mappings: MappingRegistry) {}

  @Post('preview')
  @HttpCode(200)
  preview(@Body(new ZodValidationPipe(previewBodySchema)) body: PreviewBody): PreviewResponse {
    const source = this.mappings.find(body.connector, body.object);
    if (!source)
      throw new NotFoundException(
        `no mapping for ${body.connector}/${body.object} (mappings/${body.connector}/${body.object}.yaml)`,
      );
    const inbound = mapInbound(source, body.record);
    const others = this.mappings
      .list()
      .filter((m) => m !== source)
      .sort((a, b) => a.connector.localeCompare(b.connector) || a.object.localeCompare(b.object));
    return {
      connector: source.connector,
      object: source.object,
      canonical: {
        fields: inbound.fields,
        externalId: inbound.externalId,
        sourceTimestamp: inbound.sourceTimestamp,
        issues: inbound.issues,
        mappingVersion: inbound.mappingVersion,
      },
      outbound: others.map((m) => {
        const out = mapOutbound(m, inbound.fields);
        return {
          connector: m.connector,
          object: m.object,
          record: out.record,
          issues: out.issues,
          mappingVersion: out.mappingVersion,
        };
      }),
    };
  }
}
