import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CustomerRepository } from '../store/customer.repository';

const idParam = new ZodValidationPipe(z.uuid());
const versionParam = new ZodValidationPipe(z.coerce.number().int().min(1));

@ApiTags('customers')
@ApiBearerAuth()
@Controller('customers')
export class CustomersController {
  constructor(private readonly customers: CustomerRepository) {}

  @Get(':id')
  async get(@Param('id', idParam) id: string) {
    const c = await this.customers.get(id);
    if (!c) throw new NotFoundException(`customer ${id} not found`);
    return {
      id: c.id,
      version: c.version,
      email: (c.fields.email as string | undefined) ?? null,
      fields: c.fields,
      provenance: c.provenance,
      identities: await this.customers.identitiesOf(id),
      mergedInto: c.mergedInto,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    };
  }

  @Get(':id/versions')
  async versions(@Param('id', idParam) id: string) {
    if (!(await this.customers.get(id))) throw new NotFoundException(`customer ${id} not found`);
    return { customerId: id, versions: await this.customers.versions(id) };
  }

  @Get(':id/versions/:version')
  async version(@Param('id', idParam) id: string, @Param('version', versionParam) version: number) {
    const fields = await this.customers.fieldsAtVersion(id, version);
    if (!fields) throw new NotFoundException(`customer ${id} has no version ${version}`);
    return { customerId: id, version, fields };
  }
}
