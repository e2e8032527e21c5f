// Seed contacts for the __Name__ sandbox, built from the kit's deterministic, deliberately messy people: the same
// seed gives the same records, and the same people as every other sandbox (cross-source duplicates).
import { generatePerson } from '../../../src/sandbox';

/** A contact as the sandbox stores it; timestamps in epoch ms, serialized as ISO 8601 by the API. */
export interface StoredContact {
  id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  company: string | null;
  job_title: string | null;
  city: string | null;
  country: string | null;
  lifecycle_stage: string | null;
  email_opt_out: boolean | null;
  created_at: number;
  updated_at: number;
}

/** Seeded records are stamped a minute apart from here, so they always sort before any edit made now. */
export const SEED_EPOCH_MS = Date.UTC(2024, 0, 1);

export function contactId(n: number): string {
  return `ct_${String(n).padStart(8, '0')}`;
}

export function seedContact(index: number, seed: number): StoredContact {
  const p = generatePerson(index, seed);
  const at = SEED_EPOCH_MS + index * 60_000;
  return {
    id: contactId(index + 1),
    email: p.email ?? null,
    first_name: p.firstName ?? null,
    last_name: p.lastName ?? null,
    phone: p.phone ?? null,
    company: p.company ?? null,
    job_title: p.title ?? null,
    city: p.city ?? null,
    country: p.country ?? null,
    lifecycle_stage: p.lifecycleStage ?? null,
    email_opt_out: p.optedOut,
    created_at: at,
    updated_at: at,
  };
}
