import { Global, Module } from '@nestjs/common';
import { BlindIndexEmailKeyer } from '../privacy/blind-index';
import { CustomerWriter, EmailKeyer } from './customer-writer.service';
import { CustomersController } from './customers.controller';

@Global()
@Module({
  providers: [
    CustomerWriter,
    // Email lookups go through the keyed blind index (from the global PrivacyModule), never the plain address.
    { provide: EmailKeyer, useExisting: BlindIndexEmailKeyer },
  ],
  controllers: [CustomersController],
  exports: [CustomerWriter, EmailKeyer],
})
export class CanonicalModule {}
