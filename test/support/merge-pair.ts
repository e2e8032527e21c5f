// A merge whose survivor takes the loser's email, between two customers both at SendGrid: the setup of the tests on
// the order of a loser's delete and its survivor's update at the vendor.
import type { INestApplicationContext } from '@nestjs/common';
import { ActorType } from '../../src/audit/audit.types';
import { MergeReason } from '../../src/identity/identity.types';
import { MergeService } from '../../src/identity/merge.service';
import { CustomerRepository, type CustomerRow } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';

/** The SendGrid contact a customer holds, per the destination state. */
export async function sendgridContactOf(
  app: INestApplicationContext,
  id: string,
): Promise<string | undefined> {
  const rows = await app
    .get(Database)
    .query(
      "SELECT external_id FROM destination_state WHERE connection = 'sendgrid' AND object = 'contacts' AND customer_id = ?",
      [id],
    );
  return rows[0]?.external_id as string | undefined;
}

/** A pending candidate pair whose customers both have a SendGrid contact and different emails. */
export interface SendGridPair {
  candidateId: number;
  survivor: CustomerRow;
  loser: CustomerRow;
  loserContact: string;
}

/** The first pending candidate pair whose customers both have a SendGrid contact and different emails. */
export async function pendingSendGridPair(app: INestApplicationContext): Promise<SendGridPair | undefined> {
  const db = app.get(Database);
  const repo = app.get(CustomerRepository);
  for (const c of await db.query(
    "SELECT id, customer_a, customer_b FROM merge_candidates WHERE status = 'pending' ORDER BY id",
  )) {
    const rows = await repo.loadMany(db, [c.customer_a, c.customer_b]);
    const [survivor, loser] = [rows.get(c.customer_a)!, rows.get(c.customer_b)!].sort((x, y) =>
      x.id < y.id ? -1 : 1,
    );
    if (!survivor.fields.email || !loser.fields.email || survivor.fields.email === loser.fields.email)
      continue;
    const loserContact = await sendgridContactOf(app, loser.id);
    if (!(await sendgridContactOf(app, survivor.id)) || !loserContact) continue;
    return { candidateId: Number(c.id), survivor, loser, loserContact };
  }
  return undefined;
}

/** Merges the pair, the loser's email made the newer one first so that the survivor takes it. */
export async function mergeTakingLoserEmailOf(
  app: INestApplicationContext,
  pair: SendGridPair,
): Promise<void> {
  const db = app.get(Database);
  const repo = app.get(CustomerRepository);
  const { loser } = pair;
  await db.transaction(async (tx) => {
    const at = new Date(Date.now() + 60_000).toISOString();
    const provenance = { ...loser.provenance, email: { ...loser.provenance.email, at } };
    await repo.updateCustomer(tx, { ...loser, version: loser.version + 1, provenance }, loser.version);
    await app
      .get(MergeService)
      .merge(tx, pair.candidateId, MergeReason.Automatic, { type: ActorType.System, id: 'identity' });
  });
}

/**
 * Merges the first pending candidate pair whose customers both have a SendGrid contact and different emails; the
 * survivor takes the loser's email. Undefined when no such pair is pending.
 */
export async function mergeTakingLoserEmail(
  app: INestApplicationContext,
): Promise<{ survivor: CustomerRow; loser: CustomerRow; loserContact: string } | undefined> {
  const pair = await pendingSendGridPair(app);
  if (!pair) return undefined;
  await mergeTakingLoserEmailOf(app, pair);
  return { survivor: pair.survivor, loser: pair.loser, loserContact: pair.loserContact };
}
