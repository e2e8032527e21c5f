// POST /webhooks/:connectionId — no API token; the vendor's signature is the credential. Verify, record,
// acknowledge at once; processing happens in a job. Deliveries are normally answered by WebhookReceiver on the
// bare HTTP server before they reach Express (see webhook-receiver.ts); this route documents the endpoint and
// serves it when the receiver is not attached. Both go through WebhookReceiver.accept.
import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../http/api-token.guard';
import { flatHeaders, WebhookReceiver } from './webhook-receiver';

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly receiver: WebhookReceiver) {}

  @Public()
  @Post(':connectionId')
  @HttpCode(200)
  async receive(
    @Param('connectionId') connectionId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const ack = await this.receiver.accept(connectionId, {
      method: req.method,
      url: `${req.protocol}://${req.get('host')}${req.originalUrl}`,
      headers: flatHeaders(req.headers),
      rawBody: (req as Request & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0),
      receivedAt: new Date(),
    });
    res.status(ack.status).type(ack.contentType).send(ack.body);
  }
}
