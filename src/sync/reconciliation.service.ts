// Reconciliation: reads each destination back through its connector and compares, record by record, what the
// vendor holds with what the canonical customer maps to. Finds changes made behind Syncline's back and records
// that never arrived, and raises an alert (a log event and an optional alert webhook) past a threshold.
import { Injectable, Logger } from '@nestjs/common';
import axios from 'axios';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { ConnectorRegistry } from '../connectors/connector.registry';
import { compileReader } from '../mapping/field-path';
import { mapOutbound } from '../mapping/mapping.engine';
import { MappingRegistry } from '../mapping/mapping.registry';
import { ABSENT } from '../mapping/mapping.types';
import { CustomerRepository } from '../store/customer.repository';
import { Database } from '../store/database';
import { ConnectionsService } from './connections.service';
import { sentShape } from './outbox.service';
import { SyncsService } from './syncs.service';

export interface DriftRecord {
  customerId: string;
  externalId: string | null;
  kind: 'missing' | 'changed';
  /** Vendor paths whose value differs from what the canonical record maps to. */
  fields: { path: string; expected: unknown; actual: unknown }[];
}

export interface DestinationReport {
  connection: string;
  object: string;
  expected: number;
  found: number;
  missing: number;
  changed: number;
  drift: DriftRecord[];
}

export interface ReconciliationReport {
  syncId: string;
  at: string;
  destinations: DestinationReport[];
  driftRate: number;
  failureRate: number;
  alerted: boolean;
}

const READ_CHUNK = 100;

@Injectable()
export class ReconciliationService {
  private readonly log = new Logger('Reconciliation');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly syncs: SyncsService,
    private readonly connections: ConnectionsService,
    private readonly registry: ConnectorRegistry,
    private readonly mappings: MappingRegistry,
    private readonly customers: CustomerRepository,
    private readonly config: AppConfig,
  ) {}

  /**
   * Compares every record Syncline has pushed to the sync's destinations, or, with `since`, only those pushed since
   * then (at most `limit` per destination): the cheap check a run does on the records it just sent.
   */
  async reconcile(
    syncId: string,
    scope: { since?: string; limit?: number } = {},
  ): Promise<ReconciliationReport> {
    const sync = await this.syncs.get(syncId);
    const destinations: DestinationReport[] = [];
    for (const d of sync.definition.destinations)
      destinations.push(await this.destination(d.connection, d.object, scope));
    const expected = destinations.reduce((n, d) => n + d.expected, 0);
    const drifted = destinations.reduce((n, d) => n + d.missing + d.changed, 0);
    const driftRate = expected ? drifted / expected : 0;
    const failureRate = await this.failureRate(syncId);
    const alerted =
      driftRate > this.config.env.RECONCILE_DRIFT_THRESHOLD ||
      failureRate > this.config.env.RECONCILE_FAILURE_THRESHOLD;
    const report: ReconciliationReport = {
      syncId,
      at: this.clock.nowIso(),
      destinations,
      driftRate,
      failureRate,
      alerted,
    };
    if (alerted) await this.alert(report);
    return report;
  }

  private async destination(
    connectionId: string,
    object: string,
    scope: { since?: string; limit?: number },
  ): Promise<DestinationReport> {
    const ctx = await this.connections.context(connectionId);
    const connector = this.registry.get(ctx.connector);
    const mapping = this.mappings.find(connector.manifest.id, object);
    if (!mapping) throw new Error(`no mapping for ${connector.manifest.id}/${object}`);
    const states = await this.db.query<{ customer_id: string; external_id: string | null }>(
      `SELECT customer_id, external_id FROM destination_state WHERE connection = ? AND object = ?${scope.since ? ' AND pushed_at >= ?' : ''} ORDER BY customer_id${scope.limit ? ` LIMIT ${Math.max(1, Math.floor(scope.limit))}` : ''}`,
      scope.since ? [connectionId, object, scope.since] : [connectionId, object],
    );
    const report: DestinationReport = {
      connection: connectionId,
      object,
      expected: states.length,
      found: 0,
      missing: 0,
      changed: 0,
      drift: [],
    };
    for (let i = 0; i < states.length; i += READ_CHUNK) {
      const slice = states.slice(i, i + READ_CHUNK);
      const ids = slice.map((s) => s.external_id).filter((x): x is string => !!x);
      const remote = new Map((await connector.readByIds(ctx, object, ids)).map((r) => [r.id, r]));
      const customers = await this.customers.loadMany(
        this.db,
        slice.map((s) => s.customer_id),
      );
      for (const s of slice) {
        const c = customers.get(s.customer_id);
        if (!c || c.erasedAt) continue;
        const actual = s.external_id ? remote.get(s.external_id) : undefined;
        if (!actual) {
          report.missing++;
          report.drift.push({
            customerId: s.customer_id,
            externalId: s.external_id,
            kind: 'missing',
            fields: [],
          });
          continue;
        }
        report.found++;
        const expected = sentShape(mapOutbound(mapping, c.fields, { customerId: c.id }).record);
        const diffs = diff(expected, actual.data);
        if (diffs.length) {
          report.changed++;
          report.drift.push({
            customerId: s.customer_id,
            externalId: s.external_id,
            kind: 'changed',
            fields: diffs,
          });
        }
      }
    }
    return report;
  }

  /** Share of the last run's outbound records that failed or were dead-lettered. */
  private async failureRate(syncId: string): Promise<number> {
    const [run] = await this.db.query(
      "SELECT counts FROM sync_runs WHERE sync_id = ? AND dry_run = 0 AND status <> 'running' ORDER BY started_at DESC LIMIT 1",
      [syncId],
    );
    if (!run) return 0;
    const c = JSON.parse(run.counts);
    const attempted = (c.sent ?? 0) + (c.failed ?? 0) + (c.deadLettered ?? 0);
    return attempted ? ((c.failed ?? 0) + (c.deadLettered ?? 0)) / attempted : 0;
  }

  private async alert(report: ReconciliationReport): Promise<void> {
    const summary = {
      event: 'syncline.alert',
      kind: 'reconciliation',
      syncId: report.syncId,
      driftRate: report.driftRate,
      failureRate: report.failureRate,
      destinations: report.destinations.map((d) => ({
        connection: d.connection,
        object: d.object,
        expected: d.expected,
        missing: d.missing,
        changed: d.changed,
      })),
    };
    this.log.warn(summary);
    const url = this.config.env.ALERT_WEBHOOK_URL;
    if (url) {
      await axios
        .post(url, summary, { timeout: 5000 })
        .catch((e) => this.log.warn(`alert webhook failed: ${(e as Error).message}`));
    }
  }
}

/** Leaf paths of `expected` whose value differs at the vendor (compared as text: vendors re-type values). */
function diff(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  prefix = '',
): DriftRecord['fields'] {
  const out: DriftRecord['fields'] = [];
  for (const [k, v] of Object.entries(expected)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      out.push(...diff(v as Record<string, unknown>, actual, path));
      continue;
    }
    const got = compileReader(path)(actual);
    const a = got === ABSENT || got === undefined || got === null ? '' : String(got);
    if (a.trim().toLowerCase() !== String(v).trim().toLowerCase())
      out.push({ path, expected: v, actual: got === ABSENT ? null : got });
  }
  return out;
}
