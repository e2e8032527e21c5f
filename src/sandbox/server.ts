// Starts a sandbox's express app on a loopback port and closes it completely. Owns only the HTTP listener;
// it must never leave keep-alive sockets behind, or test runs and CLIs hang on close.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
  /** The underlying node server, for callers that need upgrade handlers or timeouts. */
  server: http.Server;
}

export function startServer(app: express.Express, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    // Vendors keep idle connections open far longer than Node's 5 s default; with the default, a client that
    // reuses a pooled socket after a slow page races the server closing it ("socket hang up").
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const actualPort = (server.address() as AddressInfo).port;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${urlHost}:${actualPort}`,
        port: actualPort,
        server,
        close() {
          // Idempotent: several owners (sandbox, test teardown) may close the same server.
          closing ??= new Promise<void>((done, fail) => {
            server.close((err) =>
              err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? fail(err) : done(),
            );
            // server.close() only stops accepting; keep-alive and in-flight sockets would hold it open.
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}
