import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Append-only audit entry. `hash` chains over `prev_hash` and the entry's metadata and `digest` (a salted hash of
 * the payload), never over the payload itself, so personal values can be erased without breaking the chain.
 */
@Entity('audit_entries')
@Index('ux_audit_chain_pseq', ['partition', 'pseq'], { unique: true })
@Index('ix_audit_entity', ['entityType', 'entityId'])
export class AuditEntryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  seq!: number;

  @Column({ name: 'chain', type: 'integer' })
  partition!: number;

  @Column({ type: 'integer' })
  pseq!: number;

  @Index('ix_audit_at')
  @Column({ type: 'varchar', length: 30 })
  at!: string;

  @Column({ name: 'actor_type', type: 'varchar', length: 32 })
  actorType!: string;

  @Column({ name: 'actor_id', type: 'varchar', length: 128 })
  actorId!: string;

  @Column({ name: 'entity_type', type: 'varchar', length: 32 })
  entityType!: string;

  @Column({ name: 'entity_id', type: 'varchar', length: 128 })
  entityId!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ name: 'correlation_id', type: 'varchar', length: 128, nullable: true })
  correlationId!: string | null;

  @Column({ type: 'text', nullable: true })
  payload!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  salt!: string | null;

  @Column({ type: 'varchar', length: 64 })
  digest!: string;

  @Column({ name: 'redacted_at', type: 'varchar', length: 30, nullable: true })
  redactedAt!: string | null;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}
