// Every entity and migration of the store, in one list each, so SQLite and PostgreSQL get the same schema.
import { AuditChainHeadEntity } from './entities/audit-chain-head.entity';
import { AuditEntryEntity } from './entities/audit-entry.entity';
import { CustomerIdentityEntity } from './entities/customer-identity.entity';
import { CustomerVersionEntity } from './entities/customer-version.entity';
import { CustomerEntity } from './entities/customer.entity';
import { Foundation1763800000000 } from './migrations/1763800000000-foundation';
import { SyncEngine1763800100000 } from './migrations/1763800100000-sync-engine';
import { Privacy1763800400000 } from './migrations/1763800400000-privacy';
import { IdentityConsent1763800200000 } from './migrations/1763800200000-identity-consent';
import { IdentityPending1763800500000 } from './migrations/1763800500000-identity-pending';
import { RunPages1763800600000 } from './migrations/1763800600000-run-pages';
import { MergedCustomers1763800700000 } from './migrations/1763800700000-merged-customers';
import { PendingOutbox1763800800000 } from './migrations/1763800800000-pending-outbox';
import { IdentityPendingQueue1763800900000 } from './migrations/1763800900000-identity-pending-queue';
import { DestinationCustomer1763801000000 } from './migrations/1763801000000-destination-customer';
import { IdentityPendingRows1763801100000 } from './migrations/1763801100000-identity-pending-rows';
import { InboxFile1763801200000 } from './migrations/1763801200000-inbox-file';
import { DestinationPushed1763801300000 } from './migrations/1763801300000-destination-pushed';
import { KeyTablesWithoutRowid1763801500000 } from './migrations/1763801500000-key-tables-without-rowid';
import { IdentityPendingClaims1763801400000 } from './migrations/1763801400000-identity-pending-claims';
import { OutboxPendingById1763801600000 } from './migrations/1763801600000-outbox-pending-by-id';
import { BlockKeyRules1763801700000 } from './migrations/1763801700000-block-key-rules';

export const ENTITIES = [
  CustomerEntity,
  CustomerIdentityEntity,
  CustomerVersionEntity,
  AuditEntryEntity,
  AuditChainHeadEntity,
];

export const MIGRATIONS = [
  Foundation1763800000000,
  SyncEngine1763800100000,
  IdentityConsent1763800200000,
  Privacy1763800400000,
  IdentityPending1763800500000,
  RunPages1763800600000,
  MergedCustomers1763800700000,
  PendingOutbox1763800800000,
  IdentityPendingQueue1763800900000,
  DestinationCustomer1763801000000,
  IdentityPendingRows1763801100000,
  InboxFile1763801200000,
  DestinationPushed1763801300000,
  IdentityPendingClaims1763801400000,
  KeyTablesWithoutRowid1763801500000,
  OutboxPendingById1763801600000,
  BlockKeyRules1763801700000,
];
