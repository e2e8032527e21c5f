// Vocabulary of the sync engine: triggers, run states, counts and outcome actions.
export enum RunTrigger {
  Schedule = 'schedule',
  Manual = 'manual',
  Api = 'api',
  Cli = 'cli',
}

export enum RunStatus {
  Running = 'running',
  Succeeded = 'succeeded',
  Failed = 'failed',
}

export enum OutboxStatus {
  Pending = 'pending',
  Sent = 'sent',
  /** Held back by consent (never pushed to an ESP without it). */
  Suppressed = 'suppressed',
  Dead = 'dead',
}

export enum OutboxOp {
  Upsert = 'upsert',
  Delete = 'delete',
}

export enum OutcomeAction {
  Created = 'created',
  Updated = 'updated',
  Unchanged = 'unchanged',
  Quarantined = 'quarantined',
  Failed = 'failed',
  Deleted = 'deleted',
  Suppressed = 'suppressed',
  EchoIgnored = 'echo-ignored',
  Retrying = 'retrying',
  DeadLettered = 'dead-lettered',
}

export interface RunCounts {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  failed: number;
  deleted: number;
  /** Outbound: records written to destinations (created + updated there). */
  sent: number;
  suppressed: number;
  deadLettered: number;
}

export function emptyCounts(): RunCounts {
  return {
    read: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    quarantined: 0,
    failed: 0,
    deleted: 0,
    sent: 0,
    suppressed: 0,
    deadLettered: 0,
  };
}

export function addCounts(a: RunCounts, b: Partial<RunCounts>): RunCounts {
  for (const [k, v] of Object.entries(b)) (a as unknown as Record<string, number>)[k] += v ?? 0;
  return a;
}
