import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CustomerRepository } from '../store/customer.repository';
import { ConsentService } from './consent.service';

const idParam = new ZodValidationPipe(z.uuid());

@ApiTags('customers')
@ApiBearerAuth()
@Controller('customers')
export class ConsentsController {
  constructor(
    private readonly consent: ConsentService,
    private readonly customers: CustomerRepository,
  ) {}

  @Get(':id/consents')
  async list(@Param('id', idParam) id: string) {
    if (!(await this.customers.get(id))) throw new NotFoundException(`customer ${id} not found`);
    const records = await this.consent.list(id);
    const latest = (await this.consent.latest([id])).get(id) ?? null;
    return { customerId: id, latest, records };
  }
}
