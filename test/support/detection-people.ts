// Made-up people for duplicate-detection tests, as inbound Salesforce records, and the candidate pair two customers
// form, as stored.
import type { InboundRecord } from '../../src/canonical/customer-writer.service';
import type { Database } from '../../src/store/database';

/**
 * A maker of people: each call a new record (its own external id); twins (the same last name) share name, company
 * and phone, with different mailboxes: a duplicate, not the same email key.
 */
export function personMaker(
  first: string,
  companyWord: string,
  idPrefix = '003',
): (last: string, mailbox: string, fields?: Record<string, string>) => InboundRecord {
  let seq = 0;
  return (last, mailbox, fields = {}) => {
    const n = ++seq;
    return {
      identity: {
        connection: 'sf',
        object: 'Contact',
        externalId: `${idPrefix}${String(n).padStart(5, '0')}`,
      },
      change: {
        connection: 'sf',
        sourceTimestamp: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
        fields: {
          firstName: first,
          lastName: last,
          company: `${last} ${companyWord}`,
          phone: `+44 20 7946 ${String(1000 + ((last.length * 37) % 9000))}`,
          email: `${mailbox}@example.com`,
          ...fields,
        },
      },
    };
  };
}

/** The candidate pair of two customers (status and score), as stored: none, or one row. */
export function candidatePair(db: Database, x: string, y: string) {
  return db.query('SELECT status, score FROM merge_candidates WHERE customer_a = ? AND customer_b = ?', [
    x < y ? x : y,
    x < y ? y : x,
  ]);
}
