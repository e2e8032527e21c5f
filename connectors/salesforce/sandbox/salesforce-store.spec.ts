// The sandbox's (SystemModstamp, Id) index, which SOQL's ORDER BY and incremental reads walk: after any mix of
// creates, updates (to later or earlier stamps), recycle-bin deletes, purges and rolled-back writes, it holds exactly
// the table's rows, in order.
import { SandboxClock } from './salesforce-clock';
import { SLOT_ID, SLOT_MODSTAMP, type Row } from './salesforce-schema';
import { SalesforceStore } from './salesforce-store';

const order = (a: Row, b: Row) =>
  (a[SLOT_MODSTAMP] as number) - (b[SLOT_MODSTAMP] as number) ||
  ((a[SLOT_ID] as string) < (b[SLOT_ID] as string) ? -1 : 1);

describe('Salesforce sandbox: the (SystemModstamp, Id) index', () => {
  it('stays exactly the table, in order, through moves, deletes and rollbacks', () => {
    const store = new SalesforceStore(new SandboxClock());
    const table = store.table('Contact');
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n) + 0;
    const base = Date.UTC(2026, 0, 1);
    const check = () => {
      const index = table.sorted();
      expect(index.length).toBe(table.byId.size);
      expect(new Set(index)).toEqual(new Set(table.byId.values()));
      for (let i = 1; i < index.length; i++) expect(order(index[i - 1], index[i])).toBeLessThan(0);
    };
    for (let i = 0; i < 300; i++) {
      const r = store.create('Contact', { LastName: `L${i}` }, base + rand(100) * 1000);
      expect(r.ok).toBe(true);
    }
    check();
    for (let round = 0; round < 20; round++) {
      const rows = [...table.byId.values()];
      // A few updates, some to stamps earlier than others already there (seeding and clock changes do that).
      for (let k = 0; k < 1 + rand(30); k++) {
        const row = rows[rand(rows.length)];
        store.update('Contact', row, { FirstName: `F${round}` }, base + rand(200) * 1000);
      }
      if (round % 3 === 0) store.softDelete('Contact', rows[rand(rows.length)], base + rand(200) * 1000);
      if (round % 4 === 0) {
        const row = rows[rand(rows.length)];
        store.update('Contact', row, { Title: 'x' }, base + 500_000);
        store.hardDelete('Contact', row);
      }
      if (round % 5 === 0) store.create('Contact', { LastName: `New${round}` }, base + rand(200) * 1000);
      if (round % 3 === 1)
        store.transaction((t) => {
          const row = rows[rand(rows.length)];
          store.update('Contact', row, { Title: 'undone' }, base + rand(200) * 1000);
          store.create('Contact', { LastName: `Undone${round}` }, base + rand(200) * 1000);
          store.softDelete('Contact', rows[rand(rows.length)], base + rand(200) * 1000);
          t.rollback();
        });
      // Every few rounds the index is read between writes, so moves pile up on an ordered index or not.
      if (round % 2 === 0) check();
    }
    check();
    // A whole-table change (more than an eighth of the rows moved) takes the full sort.
    for (const row of [...table.byId.values()])
      store.update('Contact', row, { Title: 'all' }, base + rand(50) * 1000);
    check();
  });
});
