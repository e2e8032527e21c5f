// The health endpoint of a `syncline worker`: a worker has no HTTP API, but a supervisor (Kubernetes, systemd, a
// load balancer's checks) needs to know whether it can work. With WORKER_HEALTH_PORT set, the worker answers
//   GET /health       200 when its database answers and its job queue is reachable; 503 naming what is down, and
//                     503 from the moment it is told to stop (it finishes its running jobs, takes no new ones)
//   GET /health/live  200 while the process's event loop turns (a liveness probe that never depends on Redis or
//                     the database, so an outage of either does not get every worker restarted)
//   GET /metrics      Prometheus metrics (metrics.service.ts): the port is a worker's internal one, so no token
// in the shape of the service's own `GET /health` (@nestjs/terminus): { status, info, error, details }.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import type { JobQueue } from './job-queue';

/** How long the database may take to answer a health check's `SELECT 1`. */
export const DATABASE_HEALTH_TIMEOUT_MS = 2000;

type Indicator = { status: 'up' | 'down' } & Record<string, unknown>;

export interface WorkerHealthReport {
  status: 'ok' | 'error' | 'shutting_down';
  info: Record<string, Indicator>;
  error: Record<string, Indicator>;
  details: Record<string, Indicator>;
}

export interface WorkerHealthServer {
  /** The port it listens on (WORKER_HEALTH_PORT, or the one the system chose for 0). */
  readonly port: number;
  /** From now on `GET /health` answers 503 `shutting_down`. */
  stopping(): void;
  close(): Promise<void>;
}

async function databaseIndicator(dataSource: DataSource): Promise<Indicator> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dataSource.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${DATABASE_HEALTH_TIMEOUT_MS} ms`)),
          DATABASE_HEALTH_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', message: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** What `GET /health` answers, and with which status code. */
export async function workerHealth(
  dataSource: DataSource,
  queue: JobQueue,
  stopping: boolean,
): Promise<{ code: number; body: WorkerHealthReport }> {
  const [database, q] = await Promise.all([databaseIndicator(dataSource), queue.health()]);
  const details: Record<string, Indicator> = {
    database,
    queue: { status: q.up ? 'up' : 'down', adapter: q.adapter, ...(q.message ? { message: q.message } : {}) },
  };
  if (stopping)
    details.worker = {
      status: 'down',
      message: 'shutting down: finishing its running jobs, taking no new ones',
    };
  const info: Record<string, Indicator> = {};
  const error: Record<string, Indicator> = {};
  for (const [k, v] of Object.entries(details)) (v.status === 'up' ? info : error)[k] = v;
  const status = stopping ? 'shutting_down' : Object.keys(error).length ? 'error' : 'ok';
  return { code: status === 'ok' ? 200 : 503, body: { status, info, error, details } };
}

export function startWorkerHealthServer(
  dataSource: DataSource,
  queue: JobQueue,
  host: string,
  port: number,
  metrics?: () => Promise<string>,
): Promise<WorkerHealthServer> {
  let stopping = false;
  const send = (res: http.ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, { statusCode: 405, message: `${req.method} is not allowed; use GET` });
    if (path === '/health/live') return send(res, 200, { status: 'ok' });
    if (path === '/metrics' && metrics) {
      metrics().then(
        (text) => {
          res.writeHead(200, {
            'content-type': 'text/plain; version=0.0.4; charset=utf-8',
            'cache-control': 'no-store',
          });
          res.end(text);
        },
        (err: Error) => send(res, 503, { statusCode: 503, message: `metrics unavailable: ${err.message}` }),
      );
      return;
    }
    if (path !== '/health')
      return send(res, 404, {
        statusCode: 404,
        message: `no ${path} here: a worker answers ${metrics ? '/health, /health/live and /metrics' : '/health and /health/live'}`,
      });
    workerHealth(dataSource, queue, stopping).then(
      ({ code, body }) => send(res, code, body),
      (err: Error) => send(res, 503, { status: 'error', message: err.message }),
    );
  });
  // Probes are short requests: do not let a stuck client hold the worker's shutdown.
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        stopping: () => {
          stopping = true;
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
