import express from 'express';
import request from 'supertest';
import { createAdminRouter, SandboxAdminError } from './admin';
import { FaultInjector } from './faults';
import type { SandboxAdminTarget, SandboxState } from './sandbox.types';
import { WebhookDispatcher } from './webhooks';

interface Rec {
  id: string;
  fields: Record<string, unknown>;
  updatedAt: number;
}

/** A minimal in-memory sandbox: enough to see the router delegate correctly. */
class FakeSandbox implements SandboxAdminTarget {
  faults = new FaultInjector();
  webhooks = new WebhookDispatcher({ vendor: 'fake', retryDelaysMs: [] });
  records = new Map<string, Rec>();
  clock = 1000;
  seeded: Array<[number, number | undefined]> = [];

  seed(count: number, seed?: number): void {
    this.seeded.push([count, seed]);
    for (let i = 0; i < count; i++)
      this.records.set(`r${i}`, { id: `r${i}`, fields: {}, updatedAt: this.clock });
  }
  reset(): void {
    this.records.clear();
  }
  mutate(id: string, fields: Record<string, unknown>): Rec {
    const rec = this.records.get(id);
    if (!rec) throw new SandboxAdminError(404, `record ${id} not found`);
    Object.assign(rec.fields, fields);
    rec.updatedAt = ++this.clock;
    return rec;
  }
  massUpdate(ids: string[] | undefined, fields: Record<string, unknown>): { updated: number } {
    const stamp = ++this.clock;
    const targets = ids ?? [...this.records.keys()];
    for (const id of targets) {
      const rec = this.records.get(id);
      if (rec) Object.assign(rec, { fields: { ...rec.fields, ...fields }, updatedAt: stamp });
    }
    return { updated: targets.length };
  }
  state(): SandboxState {
    return { summary: { count: this.records.size }, records: [...this.records.values()] };
  }
}

function appFor(target: SandboxAdminTarget): express.Express {
  const app = express();
  app.use('/__admin', createAdminRouter(target));
  return app;
}

describe('createAdminRouter', () => {
  let sandbox: FakeSandbox;
  let app: express.Express;
  beforeEach(() => {
    sandbox = new FakeSandbox();
    app = appFor(sandbox);
  });

  it('seeds, reports state and resets', async () => {
    const seeded = await request(app).post('/__admin/seed').send({ count: 3, seed: 9 });
    expect(seeded.status).toBe(200);
    expect(seeded.body).toEqual({ ok: true, count: 3, seed: 9 });
    expect(sandbox.seeded).toEqual([[3, 9]]);

    const state = await request(app).get('/__admin/state');
    expect(state.status).toBe(200);
    expect(state.body.summary).toEqual({ count: 3 });
    expect(state.body.records).toHaveLength(3);
    expect(state.body.faults.rate429).toBe(0);
    expect(state.body.webhooks).toMatchObject({ enabled: true, pending: 0 });

    expect((await request(app).post('/__admin/reset')).body).toEqual({ ok: true });
    expect(sandbox.records.size).toBe(0);
  });

  it('mutates one record and mass-updates many with one timestamp', async () => {
    sandbox.seed(4);
    const one = await request(app)
      .post('/__admin/records/r1/mutate')
      .send({ fields: { email: 'x@y.test' } });
    expect(one.status).toBe(200);
    expect(one.body.record).toMatchObject({ id: 'r1', fields: { email: 'x@y.test' } });

    const mass = await request(app)
      .post('/__admin/mass-update')
      .send({ ids: ['r0', 'r2'], fields: { tier: 'gold' } });
    expect(mass.status).toBe(200);
    expect(mass.body.result).toEqual({ updated: 2 });
    expect(sandbox.records.get('r0')?.updatedAt).toBe(sandbox.records.get('r2')?.updatedAt);

    const all = await request(app)
      .post('/__admin/mass-update')
      .send({ fields: { region: 'EU' } });
    expect(all.body.result).toEqual({ updated: 4 });
  });

  it('answers 404 for an unknown record', async () => {
    const res = await request(app)
      .post('/__admin/records/nope/mutate')
      .send({ fields: { a: 1 } });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/nope not found/);
  });

  it.each([
    ['seed without count', 'post', '/__admin/seed', {}, /count must be an integer/],
    ['seed with a fractional count', 'post', '/__admin/seed', { count: 1.5 }, /count/],
    ['seed with a string seed', 'post', '/__admin/seed', { count: 1, seed: 'x' }, /seed must be an integer/],
    ['mutate without fields', 'post', '/__admin/records/r0/mutate', {}, /fields must be a JSON object/],
    [
      'mass-update with bad ids',
      'post',
      '/__admin/mass-update',
      { ids: 'r0', fields: {} },
      /ids must be an array/,
    ],
    [
      'a fault rate above 1',
      'put',
      '/__admin/faults',
      { rate5xx: 3 },
      /rate5xx must be a number between 0 and 1/,
    ],
    ['an unknown fault setting', 'put', '/__admin/faults', { explode: true }, /unknown fault setting/],
    ['a bad webhook url', 'put', '/__admin/webhooks', { url: 'nope' }, /not a valid URL/],
    ['a bad duplicateRate', 'put', '/__admin/webhooks', { duplicateRate: -1 }, /duplicateRate/],
  ] as const)('answers 400 for %s', async (_name, method, path, body, message) => {
    const res = await request(app)[method](path).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await request(app)
      .post('/__admin/seed')
      .set('Content-Type', 'application/json')
      .send('{"count":');
    expect(res.status).toBe(400);
    expect(typeof res.body.error).toBe('string');
  });

  it('configures faults and webhooks', async () => {
    const faults = await request(app).put('/__admin/faults').send({ rate429: 0.5, latencyMs: 10 });
    expect(faults.status).toBe(200);
    expect(faults.body).toMatchObject({ rate429: 0.5, latencyMs: 10, rate5xx: 0 });
    expect(sandbox.faults.config.rate429).toBe(0.5);
    expect((await request(app).get('/__admin/faults')).body.injected).toBeDefined();

    const hooks = await request(app)
      .put('/__admin/webhooks')
      .send({ url: 'http://127.0.0.1:9/in', duplicateRate: 0.1, reorder: true, enabled: true });
    expect(hooks.status).toBe(200);
    expect(hooks.body).toMatchObject({ url: 'http://127.0.0.1:9/in', duplicateRate: 0.1, reorder: true });
    const cleared = await request(app).put('/__admin/webhooks').send({ url: null });
    expect(cleared.body.url).toBeUndefined();
  });

  it('flushes webhooks, answering 504 when they do not settle', async () => {
    expect((await request(app).post('/__admin/webhooks/flush')).body).toEqual({ ok: true, attempts: 0 });
    sandbox.webhooks = new WebhookDispatcher({
      vendor: 'fake',
      retryDelaysMs: [60_000],
      batchWindowMs: 60_000,
    });
    sandbox.webhooks.configure({ url: 'http://127.0.0.1:9/in' });
    sandbox.webhooks.send({ id: 'e', body: '{}', headers: {}, contentType: 'application/json' });
    const res = await request(app).post('/__admin/webhooks/flush?timeoutMs=50');
    expect(res.status).toBe(504);
    expect(res.body.error).toMatch(/still pending/);
    expect((await request(app).post('/__admin/webhooks/flush?timeoutMs=abc')).status).toBe(400);
    await sandbox.webhooks.close();
  });

  it('serves state without a state() method', async () => {
    const bare: SandboxAdminTarget = {
      faults: sandbox.faults,
      webhooks: sandbox.webhooks,
      seed: () => undefined,
      reset: () => undefined,
      mutate: () => undefined,
      massUpdate: () => undefined,
    };
    const res = await request(appFor(bare)).get('/__admin/state');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ summary: {}, records: [] });
  });
});
