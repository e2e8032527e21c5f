// Column shorthands shared by the migrations. Timestamps are ISO 8601 text (sortable, identical on SQLite and
// PostgreSQL); changing these would change every migration, so treat them as frozen.
export const ts = (name: string, nullable = false) => ({
  name,
  type: 'varchar',
  length: '30',
  isNullable: nullable,
});
export const str = (name: string, length = 64, nullable = false) => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: nullable,
});
export const text = (name: string, nullable = true) => ({ name, type: 'text', isNullable: nullable });
export const int = (name: string, nullable = false) => ({ name, type: 'integer', isNullable: nullable });
export const serial = {
  name: 'id',
  type: 'integer',
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment' as const,
};
