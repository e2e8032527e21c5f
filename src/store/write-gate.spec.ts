import { Worker } from 'node:worker_threads';
import { WriteGate } from './write-gate';

const tick = () => new Promise((r) => setImmediate(r));

describe('WriteGate', () => {
  it('lets one side in at a time', async () => {
    const service = WriteGate.create(true);
    const engine = new WriteGate(service.buffer, false);
    let inside = 0;
    let most = 0;
    const work = (gate: WriteGate) =>
      gate.run(async () => {
        inside++;
        most = Math.max(most, inside);
        await tick();
        await tick();
        inside--;
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => work(i % 2 ? service : engine)));
    expect(most).toBe(1);
    expect(inside).toBe(0);
  });

  it('puts a waiting service-side transaction ahead of the engine side’s next one', async () => {
    const service = WriteGate.create(true);
    const engine = new WriteGate(service.buffer, false);
    const order: string[] = [];
    await engine.acquire();
    const serviceDone = service.run(async () => void order.push('service'));
    const engineNext = engine.run(async () => void order.push('engine'));
    await tick();
    engine.release();
    await Promise.all([serviceDone, engineNext]);
    expect(order).toEqual(['service', 'engine']);
  });

  it('excludes across threads, without blocking the waiting thread’s event loop', async () => {
    const service = WriteGate.create(true);
    // The other side in a real thread: takes the gate, holds it 150 ms, releases.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const c = new Int32Array(workerData);
       while (Atomics.compareExchange(c, 0, 0, 1) !== 0) Atomics.wait(c, 0, 1, 5);
       parentPort.postMessage('held');
       setTimeout(() => { Atomics.store(c, 0, 0); Atomics.notify(c, 0); }, 150);`,
      { eval: true, workerData: service.buffer },
    );
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const held = Date.now();
    let turns = 0;
    const spinner = setInterval(() => turns++, 5);
    const waited = await service.run(async () => Date.now() - held);
    clearInterval(spinner);
    await worker.terminate();
    // Not before the other thread let go (150 ms after it took the gate, less what elapsed since).
    expect(waited).toBeGreaterThanOrEqual(100);
    // The event loop kept turning while this thread waited for the gate.
    expect(turns).toBeGreaterThan(5);
  });
});
