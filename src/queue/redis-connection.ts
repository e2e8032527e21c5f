// Builds the ioredis clients of the scale-out adapters. Workers and the rate limiter wait out a Redis restart
// (maxRetriesPerRequest null: commands queue until the reconnect); producers fail fast so an HTTP request never
// hangs on an outage and the periodic sweep simply tries again.
import { Logger } from '@nestjs/common';
import IORedis, { type RedisOptions } from 'ioredis';

export enum RedisRole {
  /** Blocking and long-lived callers: BullMQ workers, the rate limiter. */
  Worker = 'worker',
  /** Callers on a request path: adding jobs, managing schedules. */
  Producer = 'producer',
}

const log = new Logger('Redis');

/** Reconnect forever with a capped back-off: a restarted Redis is picked up without a process restart. */
function retryStrategy(times: number): number {
  return Math.min(100 * times, 2000);
}

export function redisOptions(role: RedisRole): RedisOptions {
  return {
    maxRetriesPerRequest: role === RedisRole.Worker ? null : 3,
    enableReadyCheck: true,
    retryStrategy,
    // A failover or restart can leave a connection on a read-only replica; reconnect instead of erroring.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
}

export function createRedis(url: string, role: RedisRole, name: string): IORedis {
  const client = new IORedis(url, { ...redisOptions(role), connectionName: name });
  let down = false;
  // Without a listener an 'error' event would crash the process; a lost connection is expected and logged once.
  client.on('error', (err) => {
    if (!down) log.warn(`${name}: ${err.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log.log(`${name}: reconnected`);
    down = false;
  });
  return client;
}
