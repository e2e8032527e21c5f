import { InProcessJobQueue } from './in-process-job-queue';
import { JobName } from './job-queue';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('InProcessJobQueue', () => {
  let queue: InProcessJobQueue;
  beforeEach(() => (queue = new InProcessJobQueue()));
  afterEach(() => queue.close());

  it('coalesces a waiting job with the same id', async () => {
    const seen: string[] = [];
    await queue.add(JobName.ProcessInbox, { c: 'a' }, { jobId: 'inbox:a' });
    await queue.add(JobName.ProcessInbox, { c: 'a' }, { jobId: 'inbox:a' });
    queue.process<{ c: string }>(JobName.ProcessInbox, async ({ c }) => void seen.push(c), {
      concurrency: 4,
    });
    await queue.idle(1000);
    expect(seen).toEqual(['a']);
  });

  it('never runs two jobs with one id at once, and lets other ids through meanwhile', async () => {
    const running = new Map<string, number>();
    let maxSameId = 0;
    const order: string[] = [];
    const release: (() => void)[] = [];
    queue.process<{ c: string }>(
      JobName.ProcessInbox,
      async ({ c }) => {
        running.set(c, (running.get(c) ?? 0) + 1);
        maxSameId = Math.max(maxSameId, running.get(c)!);
        order.push(`start:${c}`);
        if (c === 'busy') await new Promise<void>((r) => release.push(r));
        running.set(c, running.get(c)! - 1);
      },
      { concurrency: 4 },
    );
    await queue.add(JobName.ProcessInbox, { c: 'busy' }, { jobId: 'inbox:busy' });
    await tick();
    // The busy source keeps enqueuing while its job runs; the quiet one arrives after it.
    await queue.add(JobName.ProcessInbox, { c: 'busy' }, { jobId: 'inbox:busy' });
    await queue.add(JobName.ProcessInbox, { c: 'quiet' }, { jobId: 'inbox:quiet' });
    await tick();
    expect(order).toEqual(['start:busy', 'start:quiet']);
    release.shift()!();
    await tick();
    // The follow-up of the busy source runs once its first job ended (nothing it enqueued is lost).
    expect(order).toEqual(['start:busy', 'start:quiet', 'start:busy']);
    release.shift()!();
    await queue.idle(1000);
    expect(maxSameId).toBe(1);
  });

  it('counts jobs by name and state: waiting without a handler, active while running, delayed until due', async () => {
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    queue.process(JobName.SyncRun, () => running, { concurrency: 1 });
    await queue.add(JobName.SyncRun, {}, { jobId: 'a' });
    await queue.add(JobName.SyncRun, {}, { jobId: 'b' });
    await queue.add(JobName.ProcessInbox, {}); // no handler in this process: waits
    await queue.add(JobName.DrainOutbox, {}, { delayMs: 60_000 });
    const byName = new Map((await queue.counts()).map((c) => [c.name, c]));
    expect(byName.size).toBe(Object.values(JobName).length);
    expect(byName.get(JobName.SyncRun)).toEqual({ name: JobName.SyncRun, waiting: 1, active: 1, delayed: 0 });
    expect(byName.get(JobName.ProcessInbox)).toMatchObject({ waiting: 1, active: 0, delayed: 0 });
    expect(byName.get(JobName.DrainOutbox)).toMatchObject({ waiting: 0, active: 0, delayed: 1 });
    release();
    await tick();
    expect((await queue.counts()).find((c) => c.name === JobName.SyncRun)).toMatchObject({
      waiting: 0,
      active: 0,
    });
  });
});
