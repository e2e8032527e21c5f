// The inbound path, shared by scheduled runs and webhooks: map -> validate -> (echo check) -> resolve identity
// and merge -> write customers, versions, audit entries, outbox rows and outcomes, all in the caller's transaction
// (the runner adds the cursor to the same one). Invalid records are quarantined with every reason.
import { Injectable, Optional } from '@nestjs/common';
import type { Actor } from '../audit/audit.types';
import { ApplyAction, CustomerWriter, type InboundRecord } from '../canonical/customer-writer.service';
import { validateCustomerFields } from '../canonical/customer.validator';
import type { ConnectionPriority } from '../canonical/merge-rules';
import { Clock } from '../common/clock';
import { contentHash } from '../common/hash';
import { SyncMode, type SyncConfig } from '../config/syncline-config.schema';
import type { Connector, ConnectionContext, VendorRecord } from '../connectors/connector.types';
import { setPath, compileReader } from '../mapping/field-path';
import { mapInbound } from '../mapping/mapping.engine';
import { MappingRegistry } from '../mapping/mapping.registry';
import { ABSENT, type CompiledMapping, type MappingIssue } from '../mapping/mapping.types';
import { PiiCodec } from '../privacy/pii-codec';
import { DuplicateDetector } from '../identity/duplicate-detector.service';
import { MATCH_FIELDS } from '../identity/similarity';
import type { Tx } from '../store/database';
import { writeOutcomes, type OutcomeRow } from './outcome-log';
import { OutboxService } from './outbox.service';
import { emptyCounts, OutboxOp, OutcomeAction, type RunCounts } from './sync.types';

export interface InboundContext {
  connection: ConnectionContext;
  connector: Connector;
  object: string;
  /** Syncs whose source is this connection + object: they decide destinations, priority and mode. */
  syncs: SyncConfig[];
  actor: Actor;
  correlationId: string;
  runId?: string;
  readAt?: Date;
}

export type { OutcomeRow } from './outcome-log';

@Injectable()
export class InboundService {
  constructor(
    private readonly writer: CustomerWriter,
    private readonly mappings: MappingRegistry,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
    // Quarantined vendor records hold personal data: sealed at rest.
    @Optional() private readonly pii?: PiiCodec,
    // Fuzzy duplicate detection (identity module) for the customers each page touched.
    @Optional() private readonly duplicates?: DuplicateDetector,
  ) {}

  mappingFor(connectorId: string, object: string): CompiledMapping {
    const m = this.mappings.find(connectorId, object);
    if (!m) throw new Error(`no mapping for ${connectorId}/${object}`);
    return m;
  }

  async processPage(
    tx: Tx,
    records: VendorRecord[],
    deleted: string[],
    ctx: InboundContext,
  ): Promise<RunCounts> {
    const counts = emptyCounts();
    const mapping = this.mappingFor(ctx.connector.manifest.id, ctx.object);
    const now = this.clock.nowIso();
    const outcomes: OutcomeRow[] = [];
    const syncId = ctx.syncs.length === 1 ? ctx.syncs[0].id : null;
    const base = {
      runId: ctx.runId ?? null,
      syncId,
      connection: ctx.connection.id,
      object: ctx.object,
      mappingVersion: mapping.version,
      connectorVersion: ctx.connector.manifest.version,
    };
    counts.read = records.length;

    const echoes = await this.echoes(tx, mapping, ctx, records);
    const inbound: InboundRecord[] = [];
    const inboundIds: string[] = [];
    const passed: string[] = [];
    const quarantined = new Map<string, { record: Record<string, unknown>; reasons: MappingIssue[] }>();
    for (const rec of records) {
      if (echoes.has(rec.id)) {
        counts.unchanged++;
        outcomes.push({
          ...base,
          customerId: echoes.get(rec.id)!,
          externalId: rec.id,
          direction: 'in',
          action: OutcomeAction.EchoIgnored,
          detail: null,
        });
        continue;
      }
      const mapped = mapInbound(mapping, rec.data, { readAt: ctx.readAt ?? now });
      const issues = [
        ...mapped.issues,
        ...validateCustomerFields(mapped.fields, mapping.definition.required ?? []),
      ];
      const externalId = mapped.externalId ?? rec.id;
      if (issues.length) {
        counts.quarantined++;
        // The page's last word on a record is what stays quarantined (a page may carry a record twice).
        quarantined.set(externalId, { record: rec.data, reasons: issues });
        outcomes.push({
          ...base,
          customerId: null,
          externalId,
          direction: 'in',
          action: OutcomeAction.Quarantined,
          detail: { reasons: issues },
        });
        continue;
      }
      passed.push(externalId);
      inboundIds.push(externalId);
      inbound.push({
        identity: { connection: ctx.connection.id, object: ctx.object, externalId },
        change: {
          connection: ctx.connection.id,
          sourceTimestamp: mapped.sourceTimestamp,
          fields: mapped.fields,
          clearable: mapped.clearable,
        },
      });
    }
    await this.quarantine(tx, ctx, syncId, quarantined, mapping.version, now);
    if (passed.length) await this.resolveQuarantine(tx, ctx, passed, now);

    const applied = await this.writer.apply(tx, inbound, {
      actor: ctx.actor,
      correlationId: ctx.correlationId,
      priority: mergePriority(ctx.syncs),
    });
    const changed: string[] = [];
    // Duplicate detection only for customers it could judge differently: new ones, and changes to what it
    // compares. An opt-out or a title change leaves block keys and scores as they were, and is pushed at once.
    const toDetect: string[] = [];
    applied.forEach((o, i) => {
      const action =
        o.action === ApplyAction.Created
          ? OutcomeAction.Created
          : o.action === ApplyAction.Updated
            ? OutcomeAction.Updated
            : OutcomeAction.Unchanged;
      counts[
        o.action === ApplyAction.Created
          ? 'created'
          : o.action === ApplyAction.Updated
            ? 'updated'
            : 'unchanged'
      ]++;
      if (o.action !== ApplyAction.Unchanged) changed.push(o.customerId);
      if (o.action === ApplyAction.Created || o.changes.some((c) => MATCH_FIELDS.has(c.field)))
        toDetect.push(o.customerId);
      outcomes.push({
        ...base,
        customerId: o.customerId,
        externalId: inboundIds[i],
        direction: 'in',
        action,
        detail: o.changes.length ? { version: o.version, fields: o.changes.map((c) => c.field) } : null,
        valueFree: true,
      });
    });

    await this.outbox.enqueueForSyncs(
      tx,
      ctx.syncs,
      [...new Set(changed)],
      OutboxOp.Upsert,
      ctx.connection.id,
    );
    // Fuzzy duplicate detection runs after the page, in its own transactions: here it only learns who changed.
    await this.duplicates?.enqueue(tx, toDetect, ctx.actor);

    if (deleted.length) {
      const mirror = ctx.syncs.filter((s) => s.mode === SyncMode.Mirror);
      const owners = await tx.query(
        `SELECT external_id, customer_id FROM customer_identities WHERE connection = ? AND object = ? AND external_id IN (${deleted.map(() => '?').join(',')})`,
        [ctx.connection.id, ctx.object, ...deleted],
      );
      // Only deletions of records we hold count: a source reports deletes of records we never synced too.
      counts.deleted += owners.length;
      const customerIds = owners.map((r) => r.customer_id as string);
      if (mirror.length)
        await this.outbox.enqueueForSyncs(tx, mirror, customerIds, OutboxOp.Delete, ctx.connection.id);
      for (const r of owners) {
        outcomes.push({
          ...base,
          customerId: r.customer_id,
          externalId: r.external_id,
          direction: 'in',
          action: OutcomeAction.Deleted,
          detail: { propagated: mirror.length > 0 },
        });
      }
    }
    await this.writeOutcomes(tx, outcomes, now);
    return counts;
  }

  /**
   * Records that are our own writes coming back (webhook echo from a destination we pushed to): their mapped
   * content hashes to what we last sent, so applying them could only create churn or ping-pong.
   */
  private async echoes(
    tx: Tx,
    mapping: CompiledMapping,
    ctx: InboundContext,
    records: VendorRecord[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!records.length) return out;
    const ids = records.map((r) => r.id);
    const rows: { external_id: string; customer_id: string; last_hash: string }[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      rows.push(
        ...(await tx.query<{ external_id: string; customer_id: string; last_hash: string }>(
          `SELECT external_id, customer_id, last_hash FROM destination_state WHERE connection = ? AND object = ? AND external_id IN (${slice.map(() => '?').join(',')})`,
          [ctx.connection.id, ctx.object, ...slice],
        )),
      );
    }
    if (!rows.length) return out;
    const byId = new Map(rows.map((r) => [r.external_id, r]));
    for (const rec of records) {
      const state = byId.get(rec.id);
      if (
        state &&
        contentHash(projectOutboundShape(mapping, rec.data, state.customer_id)) === state.last_hash
      )
        out.set(rec.id, state.customer_id);
    }
    return out;
  }

  /**
   * Quarantines the page's invalid records (sealed), reopening an entry a record already had: one multi-row upsert
   * per chunk, since a round trip per record was a cost of its own on PostgreSQL.
   */
  private async quarantine(
    tx: Tx,
    ctx: InboundContext,
    syncId: string | null,
    entries: Map<string, { record: Record<string, unknown>; reasons: MappingIssue[] }>,
    mappingVersion: number,
    now: string,
  ): Promise<void> {
    if (!entries.size) return;
    const seal = (text: string) => (this.pii ? this.pii.sealText(text) : text);
    await tx.insertMany(
      'quarantine',
      [
        'connection',
        'object',
        'external_id',
        'sync_id',
        'record',
        'reasons',
        'mapping_version',
        'status',
        'created_at',
        'updated_at',
      ],
      [...entries].map(([externalId, e]) => [
        ctx.connection.id,
        ctx.object,
        externalId,
        syncId,
        seal(JSON.stringify(e.record)),
        seal(JSON.stringify(e.reasons)),
        mappingVersion,
        'open',
        now,
        now,
      ]),
      `ON CONFLICT (connection, object, external_id) DO UPDATE SET record = excluded.record, reasons = excluded.reasons,
       mapping_version = excluded.mapping_version, status = 'open', sync_id = excluded.sync_id, updated_at = excluded.updated_at`,
    );
  }

  /** A record that now passes closes its open quarantine entry. */
  private async resolveQuarantine(
    tx: Tx,
    ctx: InboundContext,
    externalIds: string[],
    now: string,
  ): Promise<void> {
    for (let i = 0; i < externalIds.length; i += 500) {
      const slice = externalIds.slice(i, i + 500);
      await tx.execute(
        `UPDATE quarantine SET status = 'resolved', updated_at = ? WHERE connection = ? AND object = ? AND status = 'open' AND external_id IN (${slice.map(() => '?').join(',')})`,
        [now, ctx.connection.id, ctx.object, ...slice],
      );
    }
  }

  async writeOutcomes(tx: Tx, outcomes: OutcomeRow[], now: string): Promise<void> {
    await writeOutcomes(tx, outcomes, now, this.pii);
  }
}

/** The vendor record cut down to the fields our outbound mapping writes, shaped as we send it. */
export function projectOutboundShape(
  mapping: CompiledMapping,
  record: Record<string, unknown>,
  customerId: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const rule of mapping.outbound) {
    const v = readerFor(rule.target)(record);
    if (v !== ABSENT && v !== undefined && v !== null && v !== '') setPath(out, rule.targetPath, v);
  }
  if (mapping.syncIdPath) setPath(out, mapping.syncIdPath, customerId);
  return out;
}

const readers = new Map<string, (r: Record<string, unknown>) => unknown>();
function readerFor(path: string) {
  let r = readers.get(path);
  if (!r) readers.set(path, (r = compileReader(path)));
  return r;
}

function mergePriority(syncs: SyncConfig[]): ConnectionPriority {
  const first = syncs.find((s) => s.priority.default.length || Object.keys(s.priority.fields).length);
  return first ? { default: first.priority.default, fields: first.priority.fields } : { default: [] };
}
