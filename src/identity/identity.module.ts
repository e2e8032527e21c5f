// Identity resolution: fuzzy duplicate detection, merge/unmerge and the review queue. Global so the inbound
// path can call the detector after each page without the sync module importing this one.
import { Global, Module } from '@nestjs/common';
import { SyncModule } from '../sync/sync.module';
import { BlockKeyRules } from './block-key-rules.service';
import { DuplicateDetector } from './duplicate-detector.service';
import { MergeCandidatesService } from './merge-candidates.service';
import { MergeService } from './merge.service';
import {
  MergesAcceptCommand,
  MergesCommand,
  MergesListCommand,
  MergesRejectCommand,
  MergesStatusCommand,
  MergesUndoCommand,
} from './merges.commands';
import { MergesController } from './merges.controller';

@Global()
@Module({
  imports: [SyncModule],
  providers: [
    DuplicateDetector,
    BlockKeyRules,
    MergeService,
    MergeCandidatesService,
    MergesCommand,
    MergesListCommand,
    MergesAcceptCommand,
    MergesRejectCommand,
    MergesUndoCommand,
    MergesStatusCommand,
  ],
  controllers: [MergesController],
  exports: [DuplicateDetector, BlockKeyRules, MergeService, MergeCandidatesService],
})
export class IdentityModule {}
