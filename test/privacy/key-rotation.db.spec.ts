// Key rotation: values sealed with key A are re-encrypted with B in resumable batches; with A removed afterwards
// everything still decrypts and the audit chain verifies.
import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/bootstrap';
import { ActorType } from '../../src/audit/audit.types';
import { AuditService } from '../../src/audit/audit.service';
import { CustomerWriter } from '../../src/canonical/customer-writer.service';
import { AppConfig } from '../../src/config/app-config';
import { parseEnv } from '../../src/config/env.schema';
import { KeyRotationService } from '../../src/privacy/key-rotation.service';
import { CustomerRepository } from '../../src/store/customer.repository';
import { Database } from '../../src/store/database';
import { PiiCodec } from '../../src/privacy/pii-codec';
import { writeOutcomes } from '../../src/sync/outcome-log';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { OutcomeAction } from '../../src/sync/sync.types';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();
const A = `a:${randomBytes(32).toString('base64')}`;
const B = `b:${randomBytes(32).toString('base64')}`;

async function boot(keys: string) {
  const config = new AppConfig(
    parseEnv({
      LOG_LEVEL: 'silent',
      SYNCLINE_CONFIG: '/nonexistent.yaml',
      SYNCLINE_ENCRYPTION_KEYS: keys,
      ERASURE_SWEEP_MS: '0',
      ...testDatabaseEnv(target),
    }),
    { version: 1, connections: [], syncs: [] },
  );
  const app = await createApp(config);
  await app.init();
  return app;
}

describe(`key rotation (${target.type})`, () => {
  afterAll(() => dropTestDatabase(target));

  it('rotates A -> B in resumable batches, then works without A', async () => {
    let app = await boot(A);
    const db = app.get(Database);
    await db.transaction((tx) =>
      app.get(CustomerWriter).apply(
        tx,
        Array.from({ length: 30 }, (_, i) => ({
          identity: { connection: 'sf', object: 'Contact', externalId: `c${i}` },
          change: {
            connection: 'sf',
            sourceTimestamp: '2026-01-01T00:00:00.000Z',
            fields: { email: `p${i}@example.com`, firstName: `P${i}`, company: 'Acme' },
          },
        })),
        { actor: { type: ActorType.Cli, id: 'test' } },
      ),
    );
    // The run's outcome log: a detail quoting a rejected value (sealed) and a value-free one (plain).
    const outcome = (externalId: string, action: OutcomeAction, detail: unknown, valueFree = false) => ({
      runId: 'run-rotation',
      syncId: null,
      customerId: null,
      connection: 'sf',
      object: 'Contact',
      externalId,
      direction: 'in' as const,
      action,
      detail,
      valueFree,
      mappingVersion: 1,
      connectorVersion: '1.0.0',
    });
    const details = [
      { reasons: [{ field: 'email', message: 'not an email', value: 'ada-at-example' }] },
      { version: 1, fields: ['email', 'firstName'] },
    ];
    await db.transaction((tx) =>
      writeOutcomes(
        tx,
        [
          outcome('q1', OutcomeAction.Quarantined, details[0]),
          outcome('c1', OutcomeAction.Created, details[1], true),
        ],
        '2026-01-01T00:00:00.000Z',
        app.get(PiiCodec),
      ),
    );
    await app.close();

    app = await boot(`${B},${A}`);
    const rotation = app.get(KeyRotationService);
    // 30 customer rows, 30 version rows (their audit entries reference the versions' changes, holding no values)
    // and the sealed outcome detail.
    expect(await rotation.staleRows()).toBeGreaterThanOrEqual(61);
    // Interrupted after two batches of 10...
    const partial = await rotation.rotate({ batchSize: 10, maxBatches: 2 });
    expect(partial.finished).toBe(false);
    await app.close();
    // ...and resumed by a new process.
    app = await boot(`${B},${A}`);
    const report = await app.get(KeyRotationService).rotate({ batchSize: 10 });
    expect(report.finished).toBe(true);
    expect(report.tables.find((t) => t.table === 'customers')!.rewritten).toBe(30);
    expect(await app.get(KeyRotationService).staleRows()).toBe(0);
    await app.close();

    app = await boot(B);
    const db2 = app.get(Database);
    const ids = (await db2.query('SELECT id FROM customers')).map((r) => r.id);
    const customers = await app.get(CustomerRepository).loadMany(db2, ids);
    expect([...customers.values()].map((c) => c.fields.email).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `p${i}@example.com`).sort(),
    );
    expect((await app.get(CustomerRepository).versions(ids[0]))[0].changes.length).toBe(3);
    const verify = await app.get(AuditService).verify();
    expect(verify.ok).toBe(true);
    expect(verify.checked).toBeGreaterThanOrEqual(30);
    // Outcome details sealed under A were rotated too: the run's log still reads without A.
    expect((await app.get(SyncRunner).outcomes('run-rotation')).map((o) => o.detail)).toEqual(details);
    await app.close();
  });
});
