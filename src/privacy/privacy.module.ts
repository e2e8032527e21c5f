// Personal-data protection: field encryption at rest, the email blind index, key rotation and erasure.
// Global so the store, the audit log and the sync engine pick up the codec without importing this module.
import { Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SyncModule } from '../sync/sync.module';
import { BlindIndex, BlindIndexEmailKeyer } from './blind-index';
import { ErasureController } from './erasure.controller';
import { ErasureService } from './erasure.service';
import { FieldCipher } from './field-cipher';
import { KeyRotationService } from './key-rotation.service';
import { PiiCodec } from './pii-codec';
import { blindIndexFromEnv, cipherFromEnv, extraPiiFields } from './privacy-keys';
import {
  ErasureCommand,
  ErasureProcessCommand,
  ErasureRequestCommand,
  ErasureStatusCommand,
  KeysCommand,
  KeysRotateCommand,
  KeysStatusCommand,
} from './privacy.commands';

const log = new Logger('Privacy');

@Global()
@Module({
  imports: [SyncModule],
  providers: [
    {
      provide: FieldCipher,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => cipherFromEnv(c.env, (m) => log.warn(m)),
    },
    { provide: BlindIndex, inject: [AppConfig], useFactory: (c: AppConfig) => blindIndexFromEnv(c.env) },
    {
      provide: BlindIndexEmailKeyer,
      inject: [BlindIndex],
      useFactory: (b: BlindIndex) => new BlindIndexEmailKeyer(b),
    },
    {
      provide: PiiCodec,
      inject: [FieldCipher, AppConfig],
      useFactory: (f: FieldCipher, c: AppConfig) => new PiiCodec(f, extraPiiFields(c.env)),
    },
    KeyRotationService,
    ErasureService,
    ErasureCommand,
    ErasureRequestCommand,
    ErasureStatusCommand,
    ErasureProcessCommand,
    KeysCommand,
    KeysRotateCommand,
    KeysStatusCommand,
  ],
  controllers: [ErasureController],
  exports: [FieldCipher, BlindIndex, BlindIndexEmailKeyer, PiiCodec, KeyRotationService, ErasureService],
})
export class PrivacyModule {}
