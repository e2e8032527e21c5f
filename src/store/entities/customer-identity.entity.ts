import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One identity per (connection, object, external id): the unique key that makes re-reads idempotent. */
@Entity('customer_identities')
export class CustomerIdentityEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  connection!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  object!: string;

  @PrimaryColumn({ name: 'external_id', type: 'varchar', length: 255 })
  externalId!: string;

  @Index('ix_identities_customer')
  @Column({ name: 'customer_id', type: 'varchar', length: 36 })
  customerId!: string;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}
