import { Column, Entity, PrimaryColumn } from 'typeorm';

/** History row per customer version: the changed fields with before/after and the cause. */
@Entity('customer_versions')
export class CustomerVersionEntity {
  @PrimaryColumn({ name: 'customer_id', type: 'varchar', length: 36 })
  customerId!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  /** JSON array of {field, before, after}. */
  @Column({ type: 'text' })
  changes!: string;

  /** JSON: {actorType, actorId, connection?, correlationId?}. */
  @Column({ type: 'text' })
  cause!: string;

  @Column({ type: 'varchar', length: 30 })
  at!: string;
}
