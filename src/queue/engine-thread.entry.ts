// Entry of the engine thread (see engine-thread.ts): boots the application context with the service's
// configuration and its own database connection, then takes jobs, schedules and idle/close requests from the
// service thread.
import 'reflect-metadata';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { HttpException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../app.module';
import { AppConfig } from '../config/app-config';
import { useWriteGates } from '../store/write-gate';
import { SyncRunner } from '../sync/sync-runner.service';
import type { EngineReply, EngineRequest, EngineWorkerData } from './engine-thread';
import { JobQueue } from './job-queue';

/** The engine thread's nice value (0 normal, 19 lowest). */
const ENGINE_NICE = 10;

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as EngineWorkerData;
  const reply = (m: EngineReply) => port.postMessage(m);
  /** Replies to request `seq` with what `work` resolves to, or its error (an HTTP error keeps its status). */
  const answer = (seq: number, work: Promise<unknown>): Promise<void> =>
    work.then(
      (result) => reply({ op: 'done', seq, result }),
      (e: Error) =>
        reply({
          op: 'done',
          seq,
          error: e.message,
          ...(e instanceof HttpException ? { httpStatus: e.getStatus(), httpBody: e.getResponse() } : {}),
        }),
    );
  useWriteGates(data.gates, false);
  // Background work yields the CPU to the request path: on Linux a thread has its own nice value, and this lowers
  // only this thread's (the service thread, answering webhooks and the API, keeps its own).
  try {
    os.setPriority(ENGINE_NICE);
  } catch {
    // Not permitted or not supported here: the engine runs at the service's priority.
  }
  // Messages that arrive while the context boots wait for it.
  const early: EngineRequest[] = [];
  const box: { handle?: (m: EngineRequest) => void } = {};
  port.on('message', (m: EngineRequest) => (box.handle ? box.handle(m) : early.push(m)));
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
  try {
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot(new AppConfig(data.env, data.syncline)),
      { bufferLogs: true, abortOnError: false },
    );
    // No signal handlers here: the service thread handles SIGTERM and closes this context through 'close'.
    app.useLogger(app.get(Logger));
  } catch (err) {
    reply({ op: 'failed', error: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
  const queue = app.get(JobQueue);
  let closing: Promise<void> | undefined;
  const handle = (m: EngineRequest): void => {
    switch (m.op) {
      case 'add':
        void queue.add(m.name, m.data, m.options);
        return;
      case 'schedule':
        void queue.schedule(m.id, m.cron, m.name, m.data);
        return;
      case 'unschedule':
        void queue.unschedule(m.id);
        return;
      case 'idle':
        void answer(m.seq, queue.idle(m.timeoutMs));
        return;
      case 'counts':
        void answer(m.seq, queue.counts());
        return;
      case 'run':
        void answer(m.seq, app.get(SyncRunner).run(m.syncId, m.options));
        return;
      case 'close':
        closing ??= (async () => {
          await queue.close();
          await app.close();
        })();
        void answer(m.seq, closing);
        void closing.then(
          () => setImmediate(() => process.exit(0)),
          () => setImmediate(() => process.exit(1)),
        );
        return;
    }
  };
  box.handle = handle;
  reply({ op: 'ready' });
  for (const m of early.splice(0)) handle(m);
}

void main();
