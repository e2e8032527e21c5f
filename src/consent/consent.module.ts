// Consent records: written by the customer writer, read by the outbox gate and the API. Global so the writer
// (canonical) and the outbox (sync) can use it without importing this module.
import { Global, Module } from '@nestjs/common';
import { ConsentService } from './consent.service';
import { ConsentsController } from './consents.controller';

@Global()
@Module({
  providers: [ConsentService],
  controllers: [ConsentsController],
  exports: [ConsentService],
})
export class ConsentModule {}
