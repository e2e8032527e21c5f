// The worker's health endpoint over real HTTP, with a real SQLite DataSource and the real in-process queue.
import { DataSource } from 'typeorm';
import { InProcessJobQueue } from './in-process-job-queue';
import { startWorkerHealthServer, type WorkerHealthServer } from './worker-health';

describe('worker health endpoint', () => {
  let dataSource: DataSource;
  let queue: InProcessJobQueue;
  let server: WorkerHealthServer;
  const get = (path: string, method = 'GET') =>
    fetch(`http://127.0.0.1:${server.port}${path}`, { method }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, any>,
    }));

  beforeEach(async () => {
    dataSource = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    queue = new InProcessJobQueue();
    server = await startWorkerHealthServer(dataSource, queue, '127.0.0.1', 0);
  });
  afterEach(async () => {
    await server.close();
    await queue.close();
    if (dataSource.isInitialized) await dataSource.destroy();
  });

  it('answers 200 with the database and the queue up', async () => {
    const r = await get('/health');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      status: 'ok',
      info: { database: { status: 'up' }, queue: { status: 'up', adapter: 'in-process' } },
      error: {},
      details: { database: { status: 'up' }, queue: { status: 'up', adapter: 'in-process' } },
    });
    expect((await get('/health/live')).status).toBe(200);
  });

  it('answers 503 naming the database when it cannot be reached, while liveness stays 200', async () => {
    await dataSource.destroy();
    const r = await get('/health');
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('error');
    expect(r.body.error.database).toEqual({ status: 'down', message: expect.any(String) });
    expect(r.body.info.queue).toEqual({ status: 'up', adapter: 'in-process' });
    expect((await get('/health/live')).status).toBe(200);
  });

  it('answers 503 naming the queue when it is closed', async () => {
    await queue.close();
    const r = await get('/health');
    expect(r.status).toBe(503);
    expect(r.body.error.queue).toEqual({ status: 'down', adapter: 'in-process', message: 'closed' });
  });

  it('answers 503 shutting_down once told to stop, with its dependencies still reported', async () => {
    server.stopping();
    const r = await get('/health');
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('shutting_down');
    expect(r.body.error.worker.message).toMatch(/finishing its running jobs/);
    expect(r.body.info.database).toEqual({ status: 'up' });
  });

  it('answers 404 for other paths and 405 for other methods, naming what it serves', async () => {
    const missing = await get('/metrics');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/\/health and \/health\/live/);
    const post = await get('/health', 'POST');
    expect(post.status).toBe(405);
    expect(post.body.message).toMatch(/POST is not allowed/);
  });
});
