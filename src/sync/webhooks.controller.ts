// POST /webhooks/:connectionId — no API token; the vendor's signature is the credential. Verify, record,
// acknowledge at once; processing happens in a job.
import {
  BadRequestException,
  Controller,
  HttpCode,
  Param,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { WebhookRejection, WebhookVerificationError } from '../connectors/connector-error';
import { Public } from '../http/api-token.guard';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { JobName, JobQueue } from '../queue/job-queue';
import { WebhookInboxService } from './webhook-inbox.service';
import { z } from 'zod';

const connectionParam = new ZodValidationPipe(
  z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a connection id'),
);

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly inbox: WebhookInboxService,
    private readonly queue: JobQueue,
  ) {}

  @Public()
  @Post(':connectionId')
  @HttpCode(200)
  async receive(
    @Param('connectionId', connectionParam) connectionId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const rawBody = (req as Request & { rawBody?: Buffer }).rawBody;
    if (!rawBody || !rawBody.length)
      throw new BadRequestException('webhook body is empty or its content-type is not supported');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
    try {
      const result = await this.inbox.receive(connectionId, {
        method: req.method,
        url: `${req.protocol}://${req.get('host')}${req.originalUrl}`,
        headers,
        rawBody,
        receivedAt: new Date(),
      });
      if (result.received)
        await this.queue.add(JobName.ProcessInbox, { connectionId }, { jobId: `inbox:${connectionId}` });
      res.status(result.ack.status).type(result.ack.contentType).send(result.ack.body);
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        if (err.reason === WebhookRejection.Malformed)
          throw new BadRequestException(`malformed webhook: ${err.message}`);
        throw new UnauthorizedException(`webhook rejected (${err.reason}): ${err.message}`);
      }
      throw err;
    }
  }
}
