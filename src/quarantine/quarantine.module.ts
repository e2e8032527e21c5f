// Quarantine: list, correct and replay invalid records. Replays go through the sync engine's inbound path.
import { Module } from '@nestjs/common';
import { SyncModule } from '../sync/sync.module';
import { QuarantineCommand, QuarantineListCommand, QuarantineReplayCommand } from './quarantine.commands';
import { QuarantineController } from './quarantine.controller';
import { QuarantineService } from './quarantine.service';

@Module({
  imports: [SyncModule],
  providers: [QuarantineService, QuarantineCommand, QuarantineListCommand, QuarantineReplayCommand],
  controllers: [QuarantineController],
  exports: [QuarantineService],
})
export class QuarantineModule {}
