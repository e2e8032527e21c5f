// A sync run holds each customer's push until duplicate detection has seen it (a merge could still fold it into
// another). Once a page's customers are detected they go out at once: they do not wait for the next page to commit,
// which with a slow source (or the last page of a run) is when the run would otherwise push them. On SQLite the
// page's drain happens to queue behind the detection transaction anyway; on PostgreSQL it does not, it finds every
// customer still held and stops, and only the push that detection kicks sends them before the next page.
import { RunTrigger } from '../../src/sync/sync.types';
import { SyncRunner, type RunProgress } from '../../src/sync/sync-runner.service';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';
import { dropTestDatabase, testDatabaseEnv, testDatabaseTarget } from '../support/test-database';

const target = testDatabaseTarget();

describe(`pushes follow duplicate detection, not the next page (${target.type})`, () => {
  let env: Environment;
  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 300,
      env: { ...testDatabaseEnv(target), LOG_LEVEL: 'silent', SYNCLINE_IDENTITY_MODE: 'review' },
      defaultSync: { destinations: [{ connection: 'sendgrid', object: 'contacts' }] },
    });
    env.salesforce.webhooks.configure({ enabled: false });
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    await dropTestDatabase(target);
  });

  it("pushes a page's detected customers while the next page is still being read", async () => {
    // Every Salesforce call takes 1.5 s: the second page arrives long after the first was applied and detected.
    env.salesforce.faults.configure({ latencyMs: 1_500 });
    const events: { phase: RunProgress['phase']; read: number; sent: number }[] = [];
    try {
      const run = await env.app.get(SyncRunner).run('sf-contacts', {
        trigger: RunTrigger.Manual,
        pageSize: 100,
        onProgress: (p) => events.push({ phase: p.phase, read: p.counts.read, sent: p.counts.sent }),
      });
      expect(run.status).toBe('succeeded');
      expect(run.counts.read).toBeGreaterThan(200); // three pages (the sandbox seeds a few deleted contacts)
      expect(run.counts.sent).toBeGreaterThan(0);
    } finally {
      env.salesforce.faults.reset();
    }
    const inbound = events.filter((e) => e.phase === 'inbound');
    expect(inbound.length).toBe(3);
    expect(inbound[0].read).toBe(100);
    // The first contacts reached SendGrid before the second page was applied.
    const firstSent = events.findIndex((e) => e.phase === 'outbound' && e.sent > 0);
    expect(firstSent).toBeGreaterThan(-1);
    expect(events[firstSent].read).toBe(100);
    expect(firstSent).toBeLessThan(events.indexOf(inbound[1]));
  }, 60_000);
});
