import { Global, Module } from '@nestjs/common';
import { CustomerWriter, EmailKeyer, PlainEmailKeyer } from './customer-writer.service';
import { CustomersController } from './customers.controller';

@Global()
@Module({
  providers: [CustomerWriter, { provide: EmailKeyer, useClass: PlainEmailKeyer }],
  controllers: [CustomersController],
  exports: [CustomerWriter, EmailKeyer],
})
export class CanonicalModule {}
