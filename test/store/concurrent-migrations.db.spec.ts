// Several processes booting at once on one database, as a cluster's workers do after an upgrade: each runs the
// migrations at boot (openDataSource), and TypeORM's runner takes no lock. Two runners that both found a migration
// pending ran it twice: a migration rebuilding a table (identity_pending's, say) ran again after later ones had
// altered the rebuilt table, and dropped what they had added (the Redis scale-out suite once booted three workers
// onto an empty schema whose identity_pending had no "claimed_until": every detection batch failed). The runners now
// take turns per schema.
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DatabaseTarget } from '../../src/config/env.schema';
import { dataSourceOptions, openDataSource } from '../../src/store/data-source';
import { dropTestDatabase, testDatabaseTarget } from '../support/test-database';

const describePg = testDatabaseTarget().type === 'postgres' ? describe : describe.skip;

describePg('migrations run at once by several processes (postgres)', () => {
  type PgTarget = Extract<DatabaseTarget, { type: 'postgres' }>;
  const targets = [testDatabaseTarget(), testDatabaseTarget()] as PgTarget[];
  afterAll(() => Promise.all(targets.map((t) => dropTestDatabase(t))));

  it.each([
    ['an empty schema', targets[0], true],
    ['a schema not created yet', targets[1], false],
  ] as const)(
    'runs each migration once on %s, and every process boots on the whole schema',
    async (_, target, create) => {
      if (create) {
        const admin = new DataSource({ type: 'postgres', url: target.url });
        await admin.initialize();
        await admin.query(`CREATE SCHEMA "${target.schema}"`);
        await admin.destroy();
      }
      // Five processes' worth of data sources, booted together.
      const sources = await Promise.all(
        Array.from({ length: 5 }, () => openDataSource(dataSourceOptions(target))),
      );
      try {
        const migrations = sources[0].migrations.map((m) => m.name);
        const ran = await sources[0].query<{ name: string; n: string }[]>(
          'SELECT name, COUNT(*) AS n FROM migrations GROUP BY name ORDER BY name',
        );
        expect(ran.map((r) => r.name).sort()).toEqual([...migrations].sort());
        expect(ran.filter((r) => Number(r.n) !== 1)).toEqual([]);
        // What the last migrations added is there (the columns a rebuilt table lost when one ran twice).
        const columns = await sources[0].query<{ column_name: string }[]>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'identity_pending'",
          [target.schema],
        );
        expect(columns.map((c) => c.column_name)).toEqual(
          expect.arrayContaining(['claimed_by', 'claimed_until']),
        );
        for (const ds of sources) await ds.query('SELECT claimed_until FROM identity_pending LIMIT 1');
      } finally {
        await Promise.all(sources.map((ds: DataSource) => ds.destroy()));
      }
    },
    120_000,
  );

  it('waits for a process holding the schema, and says so', async () => {
    const target = testDatabaseTarget() as PgTarget;
    targets.push(target);
    const holder = new DataSource({ type: 'postgres', url: target.url, extra: { max: 1 } });
    await holder.initialize();
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [`${target.schema}:syncline-migrations`]);
      let opened: DataSource | undefined;
      const opening = openDataSource(dataSourceOptions(target)).then((ds) => (opened = ds));
      for (let i = 0; i < 100 && !warn.mock.calls.length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(warn).toHaveBeenCalledWith(
        `waiting for another process to finish migrating schema ${target.schema}`,
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(opened).toBeUndefined();
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [`${target.schema}:syncline-migrations`]);
      await opening;
      expect(await opened!.query('SELECT COUNT(*) AS n FROM migrations')).toEqual([
        { n: String(opened!.migrations.length) },
      ]);
      await opened!.destroy();
    } finally {
      warn.mockRestore();
      await holder.destroy();
    }
  }, 60_000);
});
