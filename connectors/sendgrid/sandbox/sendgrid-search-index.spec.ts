// The indexed search must answer exactly what a full scan would: same matches, same (updated_at, id) order,
// same count, for keyset pages and for queries the index can only narrow, also after edits move contacts.
import { createRng } from '../../../src/sandbox/rng';
import { planSgql } from './sgql';
import { byUpdatedThenId, SendGridStore, type Contact } from './sendgrid-store';

const CAP = 50;

function seeded(n: number): SendGridStore {
  const store = new SendGridStore();
  const rng = createRng(42);
  for (let i = 0; i < n; i++) {
    // Few distinct timestamps, so many contacts share one and the id tie-break matters.
    const t = Date.UTC(2024, 0, 1) + rng.int(0, 40) * 1000;
    const id = `${rng.int(0, 0xffffff).toString(16).padStart(6, '0')}-${i}`;
    store.insert({
      id,
      text: { email: `p${i}@x.example`, city: rng.pick(['Lyon', 'Oslo', 'Lima']) },
      list_ids: [],
      createdAt: t,
      updatedAt: t,
    });
  }
  return store;
}

function bruteForce(store: SendGridStore, query: string): { ids: string[]; count: number } {
  const { predicate } = planSgql(query, (n) => store.isSgqlField(n));
  const hits = [...store.contacts.values()]
    .filter((c) => predicate({ get: (f) => store.sgqlValue(c, f) }))
    .sort(byUpdatedThenId);
  return { ids: hits.slice(0, CAP).map((c) => c.id), count: hits.length };
}

function indexed(store: SendGridStore, query: string): { ids: string[]; count: number } {
  const { page, count } = store.search(
    planSgql(query, (n) => store.isSgqlField(n)),
    CAP,
  );
  return { ids: page.map((c) => c.id), count };
}

const iso = (t: number): string => new Date(t).toISOString();

function queriesAround(c: Contact): string[] {
  const t = iso(c.updatedAt);
  return [
    `updated_at > TIMESTAMP '${t}' OR (updated_at = TIMESTAMP '${t}' AND contact_id > '${c.id}')`,
    `(contact_id > '${c.id}' AND updated_at = TIMESTAMP '${t}') OR updated_at > TIMESTAMP '${t}'`,
    `updated_at >= TIMESTAMP '${t}'`,
    `updated_at < TIMESTAMP '${t}'`,
    `updated_at <= TIMESTAMP '${t}'`,
    `updated_at = TIMESTAMP '${t}'`,
    `updated_at = TIMESTAMP '${t}' AND contact_id <= '${c.id}'`,
    `updated_at = TIMESTAMP '${t}' AND contact_id >= '${c.id}' AND city = 'Lyon'`,
    `updated_at > TIMESTAMP '${t}' AND city = 'Oslo'`,
    // Keyset with >= on the id leaves a real key in both halves: still a range, the union just overlaps.
    `updated_at > TIMESTAMP '${t}' OR (updated_at = TIMESTAMP '${t}' AND contact_id >= '${c.id}')`,
    // A gap at a real key: not one range, must fall back to checking each contact.
    `updated_at < TIMESTAMP '${t}' OR updated_at > TIMESTAMP '${t}'`,
    `(updated_at = TIMESTAMP '${t}' AND contact_id < '${c.id}') OR (updated_at = TIMESTAMP '${t}' AND contact_id > '${c.id}')`,
    `NOT updated_at > TIMESTAMP '${t}'`,
    `contact_id > '${c.id}'`,
    `updated_at > TIMESTAMP '${t}' OR city = 'Lima'`,
    `updated_at != TIMESTAMP '${t}'`,
    `created_at > TIMESTAMP '2000-01-01T00:00:00Z'`,
  ];
}

describe('SendGrid sandbox indexed search', () => {
  it('answers like a full scan for keyset, range and mixed queries', () => {
    const store = seeded(600);
    const sample = [...store.contacts.values()].filter((_, i) => i % 37 === 0);
    for (const c of sample)
      for (const q of queriesAround(c)) expect([q, indexed(store, q)]).toEqual([q, bruteForce(store, q)]);
  });

  it('marks the keyset page as an exact range and counts without scanning', () => {
    const store = seeded(10);
    const plan = planSgql(
      "updated_at > TIMESTAMP '2024-01-01T00:00:05Z' OR (updated_at = TIMESTAMP '2024-01-01T00:00:05Z' AND contact_id > 'abc')",
      (n) => store.isSgqlField(n),
    );
    expect(plan.exact).toBe(true);
    expect(plan.range?.hi).toBeUndefined();
    expect(plan.range?.lo).toEqual({ p: { t: Date.UTC(2024, 0, 1, 0, 0, 5), id: 'abc' }, incl: false });
    expect(planSgql("city = 'Lyon'", (n) => store.isSgqlField(n)).range).toBeUndefined();
  });

  it('stays right while contacts are edited, deleted and upserted between searches', () => {
    const store = seeded(400);
    const rng = createRng(7);
    const q = (c: Contact): string => queriesAround(c)[0];
    for (let round = 0; round < 60; round++) {
      const all = [...store.contacts.values()];
      const c = rng.pick(all);
      const op = rng.int(0, 3);
      if (op === 0) {
        // an admin-style edit: remove, change the key, re-insert
        store.removeContact(c);
        c.updatedAt = Date.UTC(2024, 0, 1) + rng.int(0, 40) * 1000;
        store.insert(c);
      } else if (op === 1) store.removeContact(c);
      else if (op === 2)
        store.upsertOne(
          { email: c.text.email, city: 'Oslo' },
          [],
          Date.UTC(2024, 0, 1) + rng.int(0, 40) * 1000,
        );
      else
        store.upsertOne({ email: `new${round}@x.example` }, [], Date.UTC(2024, 0, 1) + rng.int(0, 40) * 1000);
      // Several changes between searches exercise the queued index updates.
      if (round % 3 !== 2) continue;
      const probe = rng.pick([...store.contacts.values()]);
      expect(indexed(store, q(probe))).toEqual(bruteForce(store, q(probe)));
    }
    // A mass change beyond the queue limit rebuilds the order.
    for (const c of [...store.contacts.values()]) {
      store.removeContact(c);
      c.updatedAt += 5000;
      store.insert(c);
    }
    const probe = [...store.contacts.values()][0];
    expect(indexed(store, q(probe))).toEqual(bruteForce(store, q(probe)));
  });
});
