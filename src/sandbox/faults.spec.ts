import express, { type Request, type Response } from 'express';
import request from 'supertest';
import { FaultInjector, malformJson, truncateJson, type FaultResponder } from './faults';

// A vendor answering faults its own way, so the specs can tell which fault fired.
const vendor: FaultResponder = {
  tooManyRequests: (_req: Request, res: Response) => {
    res.status(429).set('Retry-After', '1').json({ error: 'rate' });
  },
  serverError: (_req: Request, res: Response) => {
    res.status(500).json({ error: 'boom' });
  },
  unavailable: (_req: Request, res: Response) => {
    res.status(503).json({ error: 'down' });
  },
};

const DOC = {
  records: [
    { id: 'a1', name: 'Ada' },
    { id: 'b2', name: 'Grace' },
  ],
  done: true,
};

function appWith(faults: FaultInjector): express.Express {
  const app = express();
  app.use(faults.middleware(vendor, { skip: (req) => req.path === '/health' }));
  app.get('/doc', (_req, res) => {
    res.json(DOC);
  });
  app.get('/sent', (_req, res) => {
    res.send(DOC); // express turns objects into JSON through res.json
  });
  app.get('/missing', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.get('/text', (_req, res) => {
    res.type('text/plain').send('plain words');
  });
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}

async function statuses(app: express.Express, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(app).get('/doc')).status);
  return out;
}

describe('FaultInjector', () => {
  it('is off by default', async () => {
    const faults = new FaultInjector();
    expect(faults.config).toEqual({
      latencyMs: 0,
      rate429: 0,
      rate5xx: 0,
      outageUntil: 0,
      truncateRate: 0,
      malformedRate: 0,
      seed: 1,
    });
    const app = appWith(faults);
    expect(await statuses(app, 30)).toEqual(Array(30).fill(200));
    expect((await request(app).get('/doc')).body).toEqual(DOC);
  });

  it('answers 429 and 5xx through the vendor responder', async () => {
    const faults = new FaultInjector({ rate429: 1 });
    const app = appWith(faults);
    const res = await request(app).get('/doc');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    faults.configure({ rate429: 0, rate5xx: 1 });
    expect((await request(app).get('/doc')).status).toBe(500);
    expect(faults.injected).toMatchObject({ rate429: 1, rate5xx: 1 });
  });

  it('injects faults at about the configured rate, reproducibly for a seed', async () => {
    const a = new FaultInjector({ rate429: 0.2, rate5xx: 0.1, seed: 5 });
    const seqA = await statuses(appWith(a), 300);
    const share = (s: number): number => seqA.filter((x) => x === s).length / seqA.length;
    expect(share(429)).toBeGreaterThan(0.13);
    expect(share(429)).toBeLessThan(0.27);
    // 5xx is only drawn for requests that were not already 429s.
    expect(share(500)).toBeGreaterThan(0.04);
    expect(share(500)).toBeLessThan(0.14);

    const b = new FaultInjector({ rate429: 0.2, rate5xx: 0.1, seed: 5 });
    expect(await statuses(appWith(b), 300)).toEqual(seqA);
    b.configure({ seed: 5 });
    expect(await statuses(appWith(b), 300)).toEqual(seqA);
  });

  it('answers "unavailable" during an outage window and recovers after it', async () => {
    const faults = new FaultInjector();
    const app = appWith(faults);
    faults.configure({ outageUntil: Date.now() + 60_000 });
    expect(faults.inOutage()).toBe(true);
    const res = await request(app).get('/doc');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'down' });
    faults.configure({ outageUntil: Date.now() - 1 });
    expect((await request(app).get('/doc')).status).toBe(200);
  });

  it('truncates successful JSON bodies mid-document with a 200', async () => {
    const faults = new FaultInjector({ truncateRate: 1 });
    const app = appWith(faults);
    const full = JSON.stringify(DOC);
    for (const path of ['/doc', '/sent']) {
      const res = await request(app)
        .get(path)
        .buffer(true)
        .parse((r, cb) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => cb(null, text));
        });
      expect(res.status).toBe(200);
      const text = res.body as string;
      expect(text.length).toBeLessThan(full.length);
      expect(full.startsWith(text)).toBe(true);
      expect(() => JSON.parse(text)).toThrow();
    }
    expect(faults.injected.truncate).toBe(2);
  });

  it('serves malformed JSON with a 200', async () => {
    const faults = new FaultInjector({ malformedRate: 1 });
    const res = await request(appWith(faults))
      .get('/doc')
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => cb(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(() => JSON.parse(res.body as string)).toThrow();
  });

  it('leaves error responses, non-JSON bodies and skipped routes intact', async () => {
    const faults = new FaultInjector({ truncateRate: 1 });
    const app = appWith(faults);
    const missing = await request(app).get('/missing');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not found' });
    expect((await request(app).get('/text')).text).toBe('plain words');
    expect((await request(app).get('/health')).body).toEqual({ ok: true });
    expect(faults.injected.truncate).toBe(0);
  });

  it('delays responses by latencyMs', async () => {
    const faults = new FaultInjector({ latencyMs: 60 });
    const started = Date.now();
    expect((await request(appWith(faults)).get('/doc')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('rejects bad settings and resets to off', () => {
    const faults = new FaultInjector();
    expect(() => faults.configure({ rate429: 1.5 })).toThrow(/rate429/);
    expect(() => faults.configure({ latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => faults.configure({ seed: 1.2 })).toThrow(/seed/);
    expect(() => faults.configure({ nope: 1 } as never)).toThrow(/unknown fault setting "nope"/);
    faults.configure({ rate5xx: 0.5, outageUntil: Date.now() + 1000 });
    faults.reset();
    expect(faults.config.rate5xx).toBe(0);
    expect(faults.inOutage()).toBe(false);
  });
});

describe('body corruption helpers', () => {
  it('always produce unparseable text', () => {
    for (const doc of ['{"a":1}', '[1,2,3]', '12345', '"str"', JSON.stringify(DOC)]) {
      for (const r of [0, 0.3, 0.99]) expect(() => JSON.parse(truncateJson(doc, r))).toThrow();
      expect(() => JSON.parse(malformJson(doc))).toThrow();
    }
  });
});
