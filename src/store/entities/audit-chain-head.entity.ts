import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The head of one audit chain partition. Appenders lock this row, so a partition has one writer at a time. */
@Entity('audit_chain_heads')
export class AuditChainHeadEntity {
  @PrimaryColumn({ name: 'chain', type: 'integer' })
  partition!: number;

  @Column({ type: 'integer' })
  pseq!: number;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}
