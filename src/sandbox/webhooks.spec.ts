import express from 'express';
import { startServer, type RunningServer } from './server';
import { WebhookDispatcher, type WebhookDelivery } from './webhooks';

interface Received {
  id: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A real HTTP receiver whose answer to each request is chosen by the test. */
async function startReceiver(answer: (n: number, r: Received) => number = () => 200): Promise<{
  server: RunningServer;
  received: Received[];
}> {
  const received: Received[] = [];
  const app = express();
  app.post('/hook', express.text({ type: '*/*' }), (req, res) => {
    const r = { id: String(req.headers['x-delivery-id']), body: String(req.body), headers: req.headers };
    received.push(r);
    res.status(answer(received.length, r)).send('ok');
  });
  return { server: await startServer(app), received };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function delivery(id: string): WebhookDelivery {
  return {
    id,
    body: JSON.stringify({ event: id }),
    headers: { 'x-delivery-id': id },
    contentType: 'application/json',
  };
}

describe('WebhookDispatcher', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
  });

  async function setup(
    answer?: (n: number, r: Received) => number,
    opts: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {},
  ): Promise<{ dispatcher: WebhookDispatcher; received: Received[] }> {
    const { server, received } = await startReceiver(answer);
    const dispatcher = new WebhookDispatcher({ vendor: 'acme', retryDelaysMs: [20, 40], ...opts });
    dispatcher.configure({ url: `${server.url}/hook` });
    open.push(dispatcher, server);
    return { dispatcher, received };
  }

  it('POSTs the body, headers and content type, and logs the acknowledged attempt', async () => {
    const { dispatcher, received } = await setup();
    dispatcher.send(delivery('evt-1'));
    await dispatcher.flush();
    expect(received).toHaveLength(1);
    expect(received[0].body).toBe('{"event":"evt-1"}');
    expect(received[0].headers['content-type']).toBe('application/json');
    expect(dispatcher.log).toEqual([
      expect.objectContaining({ id: 'evt-1', attempt: 1, status: 200, acked: true, duplicate: false }),
    ]);
  });

  it('retries on the schedule until acknowledged', async () => {
    const { dispatcher, received } = await setup((n) => (n < 3 ? 500 : 200));
    dispatcher.send(delivery('evt-2'));
    await dispatcher.flush();
    expect(received.map((r) => r.id)).toEqual(['evt-2', 'evt-2', 'evt-2']);
    expect(dispatcher.log.map((a) => [a.attempt, a.status, a.acked])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    // Each retry waits at least its scheduled delay.
    expect(dispatcher.log[1].at - dispatcher.log[0].at).toBeGreaterThanOrEqual(18);
    expect(dispatcher.log[2].at - dispatcher.log[1].at).toBeGreaterThanOrEqual(38);
  });

  it('gives up when the schedule runs out', async () => {
    const { dispatcher, received } = await setup(() => 503);
    dispatcher.send(delivery('evt-3'));
    await dispatcher.flush();
    expect(received).toHaveLength(3);
    expect(dispatcher.log.every((a) => !a.acked)).toBe(true);
    expect(dispatcher.pending).toBe(0);
  });

  it('uses the vendor ack rule and per-attempt signing headers', async () => {
    const { dispatcher, received } = await setup((n) => (n === 1 ? 200 : 204), {
      isAck: (status) => status === 204, // e.g. a vendor that treats only 204 as received
    });
    dispatcher.send({ ...delivery('evt-4'), sign: (attempt) => ({ 'x-signature': `sig-${attempt}` }) });
    await dispatcher.flush();
    expect(received.map((r) => r.headers['x-signature'])).toEqual(['sig-1', 'sig-2']);
    expect(dispatcher.log.map((a) => a.acked)).toEqual([false, true]);
  });

  it('logs status 0 and retries when the receiver is unreachable', async () => {
    const dispatcher = new WebhookDispatcher({ vendor: 'acme', retryDelaysMs: [10] });
    open.push(dispatcher);
    const gone = await startServer(express());
    const url = `${gone.url}/hook`;
    await gone.close();
    dispatcher.configure({ url });
    dispatcher.send(delivery('evt-5'));
    await dispatcher.flush();
    expect(dispatcher.log.map((a) => [a.attempt, a.status])).toEqual([
      [1, 0],
      [2, 0],
    ]);
    expect(dispatcher.log[0].error).toBeTruthy();
  });

  it('sends every delivery twice with duplicateRate 1', async () => {
    const { dispatcher, received } = await setup();
    dispatcher.configure({ duplicateRate: 1 });
    dispatcher.send(delivery('a'));
    dispatcher.send(delivery('b'));
    await dispatcher.flush();
    expect(received.map((r) => r.id).sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(
      dispatcher.log
        .filter((a) => a.duplicate)
        .map((a) => a.id)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('keeps send order by default and shuffles a batch with reorder', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `evt-${i}`);
    const inOrder = await setup();
    for (const id of ids) inOrder.dispatcher.send(delivery(id));
    await inOrder.dispatcher.flush();
    expect(inOrder.received.map((r) => r.id)).toEqual(ids);

    const shuffled = await setup(undefined, { seed: 3 });
    shuffled.dispatcher.configure({ reorder: true });
    for (const id of ids) shuffled.dispatcher.send(delivery(id));
    await shuffled.dispatcher.flush();
    const got = shuffled.received.map((r) => r.id);
    expect(got).not.toEqual(ids);
    expect(got.slice().sort()).toEqual(ids.slice().sort());
  });

  it('drops deliveries with no URL or when disabled', async () => {
    const dispatcher = new WebhookDispatcher({ vendor: 'acme', retryDelaysMs: [] });
    dispatcher.send(delivery('x'));
    expect(dispatcher.dropped).toBe(1);
    const { dispatcher: d2, received } = await setup();
    d2.configure({ enabled: false });
    d2.send(delivery('y'));
    await d2.flush();
    expect(received).toHaveLength(0);
    expect(d2.dropped).toBe(1);
  });

  it('close() cancels pending retries so flush resolves at once', async () => {
    const { dispatcher, received } = await setup(() => 500, { retryDelaysMs: [60_000] });
    dispatcher.send(delivery('slow'));
    await waitFor(() => received.length === 1 && dispatcher.log.length === 1);
    expect(dispatcher.pending).toBe(1); // waiting for its retry
    await dispatcher.close();
    expect(dispatcher.pending).toBe(0);
    await dispatcher.flush(100);
    dispatcher.send(delivery('after-close'));
    expect(dispatcher.dropped).toBe(1);
  });

  it('flush() rejects when deliveries are still pending after the timeout', async () => {
    const { dispatcher } = await setup(() => 500, { retryDelaysMs: [60_000] });
    dispatcher.send(delivery('stuck'));
    await expect(dispatcher.flush(150)).rejects.toThrow(/1 deliveries still pending/);
    await dispatcher.reset();
    expect(dispatcher.log).toHaveLength(0);
    expect(dispatcher.config.url).toMatch(/\/hook$/);
  });

  it('validates its settings', () => {
    const dispatcher = new WebhookDispatcher({ vendor: 'acme', retryDelaysMs: [1] });
    expect(() => dispatcher.configure({ url: 'not a url' })).toThrow(/not a valid URL/);
    expect(() => dispatcher.configure({ url: 'ftp://x.test/' })).toThrow(/http/);
    expect(() => dispatcher.configure({ duplicateRate: 2 })).toThrow(/duplicateRate/);
    expect(() => dispatcher.configure({ retryDelaysMs: [-1] })).toThrow(/retryDelaysMs/);
    dispatcher.configure({ url: 'http://127.0.0.1:9/x', retryDelaysMs: [5, 6] });
    expect(dispatcher.config).toMatchObject({ url: 'http://127.0.0.1:9/x', retryDelaysMs: [5, 6] });
    dispatcher.configure({ url: '' });
    expect(dispatcher.config.url).toBeUndefined();
  });
});
