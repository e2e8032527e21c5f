import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A canonical customer, current state. Field values and provenance are JSON; every change bumps `version`. */
@Entity('customers')
export class CustomerEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'integer' })
  version!: number;

  /** Lookup key of the normalized primary email (a keyed blind index once PII encryption is on). */
  @Index('ix_customers_email_key')
  @Column({ name: 'email_key', type: 'varchar', length: 128, nullable: true })
  emailKey!: string | null;

  @Column({ type: 'text' })
  fields!: string;

  @Column({ type: 'text' })
  provenance!: string;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;

  @Column({ name: 'updated_at', type: 'varchar', length: 30 })
  updatedAt!: string;

  @Column({ name: 'merged_into', type: 'varchar', length: 36, nullable: true })
  mergedInto!: string | null;

  @Column({ name: 'erased_at', type: 'varchar', length: 30, nullable: true })
  erasedAt!: string | null;
}
