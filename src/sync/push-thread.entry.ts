// Entry of the push thread (see push-thread.ts): boots the application context with the run's configuration and
// its own database connection, then drains the destinations it is asked to, reporting every batch.
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../app.module';
import { AppConfig } from '../config/app-config';
import { useWriteGate, WriteGate } from '../store/write-gate';
import { OutboxService } from './outbox.service';
import type { PushReply, PushRequest, PushWorkerData } from './push-thread';

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as PushWorkerData;
  const reply = (m: PushReply) => port.postMessage(m);
  useWriteGate(new WriteGate(data.gate, false));
  const early: PushRequest[] = [];
  const box: { handle?: (m: PushRequest) => void } = {};
  port.on('message', (m: PushRequest) => (box.handle ? box.handle(m) : early.push(m)));
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
  try {
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot(new AppConfig(data.env, data.syncline)),
      { bufferLogs: true, abortOnError: false },
    );
    app.useLogger(app.get(Logger));
  } catch (err) {
    reply({ op: 'failed', error: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
  const outbox = app.get(OutboxService);
  const drains = new Set<Promise<unknown>>();
  box.handle = (m: PushRequest): void => {
    if (m.op === 'drain') {
      const work = outbox
        .drain(m.connection, m.object, {
          runId: m.runId,
          waitForLock: true,
          lockOwner: `${data.lockPrefix}${m.seq}`,
          onBatch: (counts) => reply({ op: 'batch', seq: m.seq, counts }),
        })
        .then(
          (result) => reply({ op: 'done', seq: m.seq, result }),
          (e: Error) => reply({ op: 'done', seq: m.seq, error: e.message ?? String(e) }),
        );
      drains.add(work);
      void work.finally(() => drains.delete(work));
      return;
    }
    void (async () => {
      await Promise.allSettled([...drains]);
      await app.close();
      reply({ op: 'done', seq: m.seq });
      setImmediate(() => process.exit(0));
    })();
  };
  reply({ op: 'ready' });
  for (const m of early.splice(0)) box.handle(m);
}

void main();
