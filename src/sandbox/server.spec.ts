import http from 'node:http';
import express from 'express';
import { startServer } from './server';

describe('startServer', () => {
  it('listens on a random loopback port and closes despite keep-alive sockets', async () => {
    const app = express();
    app.get('/ping', (_req, res) => {
      res.json({ pong: true });
    });
    const running = await startServer(app);
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);

    // A keep-alive agent holds the socket open after the response; close() must not wait for it.
    const agent = new http.Agent({ keepAlive: true });
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(`${running.url}/ping`, { agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toEqual({ pong: true });

    const started = Date.now();
    await running.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(running.server.listening).toBe(false);
    await running.close(); // idempotent
    agent.destroy();
  });

  it('rejects when the port is taken', async () => {
    const first = await startServer(express());
    await expect(startServer(express(), first.port)).rejects.toThrow(/EADDRINUSE/);
    await first.close();
  });
});
