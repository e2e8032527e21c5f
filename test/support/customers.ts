// Reads customers through the repository, so tests see decrypted values whatever the storage encoding.
import type { INestApplicationContext } from '@nestjs/common';
import type { CustomerFields } from '../../src/canonical/customer.model';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';

export async function allCustomers(
  app: INestApplicationContext,
): Promise<{ id: string; version: number; fields: CustomerFields }[]> {
  const db = app.get(Database);
  // Live customers only: a merged-away duplicate lives on in its survivor.
  const ids = (
    await db.query('SELECT id FROM customers WHERE merged_into IS NULL AND erased_at IS NULL ORDER BY id')
  ).map((r) => r.id as string);
  const rows = await app.get(CustomerRepository).loadMany(db, ids);
  return ids.map((id) => rows.get(id)!).map((c) => ({ id: c.id, version: c.version, fields: c.fields }));
}

export async function customerFields(app: INestApplicationContext, id: string): Promise<CustomerFields> {
  return (await app.get(CustomerRepository).get(id))!.fields;
}
