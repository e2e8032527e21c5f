// Foundation schema: customers, identities, version history, audit log and its chain heads.
// Written with TypeORM's schema builder so the same migration runs on SQLite and PostgreSQL.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const ts = (name: string, nullable = false) => ({
  name,
  type: 'varchar',
  length: '30',
  isNullable: nullable,
});

export class Foundation1763800000000 implements MigrationInterface {
  name = 'Foundation1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'customers',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'version', type: 'integer' },
          { name: 'email_key', type: 'varchar', length: '128', isNullable: true },
          { name: 'fields', type: 'text' },
          { name: 'provenance', type: 'text' },
          ts('created_at'),
          ts('updated_at'),
          { name: 'merged_into', type: 'varchar', length: '36', isNullable: true },
          ts('erased_at', true),
        ],
        indices: [{ name: 'ix_customers_email_key', columnNames: ['email_key'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'customer_identities',
        columns: [
          { name: 'connection', type: 'varchar', length: '64', isPrimary: true },
          { name: 'object', type: 'varchar', length: '64', isPrimary: true },
          { name: 'external_id', type: 'varchar', length: '255', isPrimary: true },
          { name: 'customer_id', type: 'varchar', length: '36' },
          ts('created_at'),
        ],
        indices: [{ name: 'ix_identities_customer', columnNames: ['customer_id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'customer_versions',
        columns: [
          { name: 'customer_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'version', type: 'integer', isPrimary: true },
          { name: 'changes', type: 'text' },
          { name: 'cause', type: 'text' },
          ts('at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_entries',
        columns: [
          {
            name: 'seq',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'chain', type: 'integer' },
          { name: 'pseq', type: 'integer' },
          ts('at'),
          { name: 'actor_type', type: 'varchar', length: '32' },
          { name: 'actor_id', type: 'varchar', length: '128' },
          { name: 'entity_type', type: 'varchar', length: '32' },
          { name: 'entity_id', type: 'varchar', length: '128' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'correlation_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'payload', type: 'text', isNullable: true },
          { name: 'salt', type: 'varchar', length: '32', isNullable: true },
          { name: 'digest', type: 'varchar', length: '64' },
          ts('redacted_at', true),
          { name: 'prev_hash', type: 'varchar', length: '64' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
      }),
    );
    await q.createIndex(
      'audit_entries',
      new TableIndex({ name: 'ux_audit_chain_pseq', columnNames: ['chain', 'pseq'], isUnique: true }),
    );
    await q.createIndex(
      'audit_entries',
      new TableIndex({ name: 'ix_audit_entity', columnNames: ['entity_type', 'entity_id'] }),
    );
    await q.createIndex('audit_entries', new TableIndex({ name: 'ix_audit_at', columnNames: ['at'] }));
    await q.createTable(
      new Table({
        name: 'audit_chain_heads',
        columns: [
          { name: 'chain', type: 'integer', isPrimary: true },
          { name: 'pseq', type: 'integer' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'audit_chain_heads',
      'audit_entries',
      'customer_versions',
      'customer_identities',
      'customers',
    ]) {
      await q.dropTable(t);
    }
  }
}
