import { Controller, Get, HttpCode, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { actorOf } from '../sync/syncs.controller';
import { ErasureService } from './erasure.service';

const idParam = new ZodValidationPipe(z.uuid());

@ApiTags('privacy')
@ApiBearerAuth()
@Controller()
export class ErasureController {
  constructor(private readonly erasure: ErasureService) {}

  /** Accepted at once (canonical data is anonymized in the request); vendor deletions follow in the background. */
  @Post('customers/:id/erasure')
  @HttpCode(202)
  request(@Param('id', idParam) id: string, @Req() req: Request) {
    return this.erasure.request(id, actorOf(req));
  }

  @Get('customers/:id/erasure')
  async ofCustomer(@Param('id', idParam) id: string) {
    const view = await this.erasure.statusOfCustomer(id);
    if (!view) throw new NotFoundException(`no erasure request for customer ${id}`);
    return view;
  }

  @Get('erasures/:id')
  async status(@Param('id', idParam) id: string) {
    const view = await this.erasure.status(id);
    if (!view) throw new NotFoundException(`erasure request ${id} not found`);
    return view;
  }
}
