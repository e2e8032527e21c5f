// A sync run's pushes on a thread of their own (SQLite file, no Redis): the run reads, applies and detects on this
// thread while the push thread drains its destinations through its own connection, both writing one file through
// the write gate. The destination ends holding exactly one record per live customer, the thread is kept for the
// next run, and a push thread that dies mid-run fails the run without losing anything (its locks freed at once).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { Database } from '../../src/store/database';
import { writeGate } from '../../src/store/write-gate';
import { OutboxService } from '../../src/sync/outbox.service';
import { PushThread } from '../../src/sync/push-thread';
import { SyncRunner } from '../../src/sync/sync-runner.service';
import { RunStatus, RunTrigger } from '../../src/sync/sync.types';

jest.setTimeout(180_000);

/** How long a dead holder keeps a drain lock (SYNCLINE_LEASE_MS, default). */
const LEASE_MS = 60_000;

describe('push thread (SQLite file)', () => {
  let env: Environment;
  let dir: string;
  const q = (sql: string, params: unknown[] = []) => env.app.get(Database).query(sql, params);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-push-'));
    env = await startEnvironment({
      contacts: 400,
      env: {
        DATABASE_URL: `sqlite:${path.join(dir, 'push.sqlite')}`,
        LOG_LEVEL: 'silent',
        SYNCLINE_PUSH_THREAD: 'on',
        SYNCLINE_BACKGROUND_JOBS: 'off',
      },
      defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
    });
    env.salesforce.webhooks.configure({ enabled: false });
  });
  afterAll(async () => {
    await env?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** SendGrid holds exactly the contacts tracked for live customers, and nothing is left to push. */
  async function consistent(): Promise<void> {
    const tracked = await q(
      "SELECT d.external_id FROM destination_state d JOIN customers c ON c.id = d.customer_id WHERE d.connection = 'sendgrid' AND d.external_id IS NOT NULL AND c.merged_into IS NULL",
    );
    const atSg = (env.sendgrid.state().records as { id: string }[]).map((r) => r.id).sort();
    expect(atSg.length).toBeGreaterThan(0);
    expect(tracked.map((t) => t.external_id).sort()).toEqual(atSg);
    expect(await q("SELECT id FROM outbox WHERE status = 'pending'")).toEqual([]);
  }

  it('pushes a full sync from its own thread and keeps the thread for the next run', async () => {
    const here = jest.spyOn(env.app.get(OutboxService), 'drain');
    const run = await env.app
      .get(SyncRunner)
      .run('sf-contacts', { trigger: RunTrigger.Manual, pageSize: 50 });
    expect(run.status).toBe(RunStatus.Succeeded);
    expect(run.counts.sent).toBeGreaterThan(200);
    // Every push of the run went through the other thread; this one took the write gate for its own writes.
    expect(here).not.toHaveBeenCalled();
    expect(writeGate()).toBeDefined();
    await consistent();
    // Outcomes of the pushes are the run's, written by the push thread.
    const [out] = await q(
      "SELECT COUNT(*) AS n FROM record_outcomes WHERE run_id = ? AND direction = 'out' AND action = 'created'",
      [run.id],
    );
    expect(Number(out.n)).toBe(run.counts.sent);

    const worker = (env.app.get(PushThread) as unknown as { worker?: object }).worker;
    const ids = (env.salesforce.state().records as { Id: string; attributes?: { type: string } }[])
      .filter((r) => r.attributes?.type === 'Contact')
      .slice(0, 25)
      .map((r) => r.Id);
    env.salesforce.massUpdate(ids, { FirstName: 'Pushed' });
    const inc = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(inc.status).toBe(RunStatus.Succeeded);
    expect(inc.counts.sent).toBeGreaterThan(0);
    expect((env.app.get(PushThread) as unknown as { worker?: object }).worker).toBe(worker);
    expect(here).not.toHaveBeenCalled();
    await consistent();
    here.mockRestore();
  });

  it('a push thread that dies mid-run fails the run and loses nothing: the next run sends the rest', async () => {
    const pushThread = env.app.get(PushThread) as unknown as { worker?: { terminate(): Promise<number> } };
    const ids = (
      env.salesforce.state().records as { Id: string; IsDeleted: boolean; attributes?: { type: string } }[]
    )
      .filter((r) => r.attributes?.type === 'Contact' && !r.IsDeleted)
      .map((r) => r.Id);
    // A later second than the previous test's edit (SystemModstamp has whole seconds; see the connector's cursor).
    env.salesforce.clock.advance(2_000);
    env.salesforce.massUpdate(ids, { FirstName: 'Interrupted' });
    // Pushes in flight stay unsettled for a second; the thread dies once the first page is committed.
    env.sendgrid.setJobDelay(1000);
    let pages = 0;
    let killed = false;
    const run = await env.app.get(SyncRunner).run('sf-contacts', {
      trigger: RunTrigger.Manual,
      pageSize: 50,
      onProgress: (p) => {
        if (p.phase === 'inbound' && ++pages === 1) {
          killed = true;
          void pushThread.worker?.terminate();
        }
      },
    });
    env.sendgrid.setJobDelay(20);
    expect(killed).toBe(true);
    expect(run.status).toBe(RunStatus.Failed);
    expect(run.errors.join(' ')).toMatch(/push thread exited/);
    expect(run.counts.read).toBe(ids.length);
    // Pages are committed; what the dead thread had not settled stayed pending and was sent by the run's next drain,
    // on a new thread. The next run finds nothing missing.
    const next = await env.app.get(SyncRunner).run('sf-contacts', { trigger: RunTrigger.Manual });
    expect(next.status).toBe(RunStatus.Succeeded);
    await consistent();
    // Every contact the interrupted run changed reached SendGrid (consistent(): once each).
    const firstNames = (env.sendgrid.state().records as { first_name?: string }[]).map((r) => r.first_name);
    expect(firstNames.filter((n) => n !== 'Interrupted')).toEqual([]);
    // The dead thread's drain lock was released at once: the run's next drain, on a new thread, did not wait for it
    // to expire.
    expect(run.durationMs).toBeLessThan(LEASE_MS);
  });
});
