// Applies incoming vendor changes to canonical customers inside the caller's transaction: resolves identity
// (identity key, then normalized email), merges field by field, bumps the version, writes the history row and the
// audit entry. A change that alters nothing writes nothing. Callers (the sync engine, webhooks, the API) add
// their own rows (outbox, cursor) to the same transaction.
import { Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AuditEntity, type Actor, type AuditInput } from '../audit/audit.types';
import { Clock } from '../common/clock';
import { timeOrderedUuid } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { ConsentService } from '../consent/consent.service';
import { consentStatusOf, type ConsentChange } from '../consent/consent.types';
import { normalizeEmailForMatching, parseEmailRules, type EmailRule } from '../identity/email-normalization';
import { CustomerRepository, type CustomerRow, type VersionRow } from '../store/customer.repository';
import type { Tx } from '../store/database';
import type { Identity } from './customer.model';
import { EmailKeyer } from './email-keyer';
import { mergeFields, type ConnectionPriority, type FieldChange, type IncomingChange } from './merge-rules';

export interface InboundRecord {
  identity: Identity;
  change: IncomingChange;
  /**
   * Apply to this known customer instead of resolving `identity` (events keyed on something other than a vendor
   * id, like an ESP's email events). The identity is then not recorded.
   */
  customerId?: string;
}

export interface ApplyContext {
  actor: Actor;
  correlationId?: string | null;
  priority?: ConnectionPriority;
}

export enum ApplyAction {
  Created = 'created',
  Updated = 'updated',
  Unchanged = 'unchanged',
}

export interface ApplyOutcome {
  customerId: string;
  action: ApplyAction;
  version: number;
  changes: FieldChange[];
}

const CUSTOMER_ID_NAMESPACE = 'syncline:customer';

export { EmailKeyer };

@Injectable()
export class PlainEmailKeyer extends EmailKeyer {
  key(email: string): string {
    return email;
  }
}

interface Working {
  row: CustomerRow;
  storedVersion: number | null;
  dirty: boolean;
}

@Injectable()
export class CustomerWriter {
  constructor(
    private readonly customers: CustomerRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly emailKeyer: EmailKeyer,
    @Optional() config?: AppConfig,
    @Optional() private readonly consent?: ConsentService,
  ) {
    this.emailRules = parseEmailRules(config?.env.SYNCLINE_EMAIL_RULES);
  }

  private readonly emailRules: EmailRule[];

  /** Normalize by the configured identity rules first, then key (plain or blind index). */
  emailKeyOf(email: unknown): string | null {
    const n = normalizeEmailForMatching(email, this.emailRules);
    return n ? this.emailKeyer.key(n) : null;
  }

  async apply(tx: Tx, records: InboundRecord[], ctx: ApplyContext): Promise<ApplyOutcome[]> {
    if (!records.length) return [];
    const now = this.clock.nowIso();

    // 1. Identity keys, grouped by (connection, object).
    const byIdentity = new Map<string, string>();
    const groups = new Map<string, { connection: string; object: string; ids: string[] }>();
    for (const r of records) {
      if (r.customerId) continue;
      const g = `${r.identity.connection}\u0000${r.identity.object}`;
      if (!groups.has(g))
        groups.set(g, { connection: r.identity.connection, object: r.identity.object, ids: [] });
      groups.get(g)!.ids.push(r.identity.externalId);
    }
    for (const g of groups.values()) {
      const found = await this.customers.findByIdentities(tx, g.connection, g.object, [...new Set(g.ids)]);
      for (const [ext, id] of found) byIdentity.set(identityKey({ ...g, externalId: ext }), id);
    }

    // 2. Normalized email for the records no identity resolved.
    const emailKeys = new Set<string>();
    for (const r of records) {
      if (r.customerId || byIdentity.has(identityKey(r.identity))) continue;
      const k = this.emailKeyOf(r.change.fields.email);
      if (k) emailKeys.add(k);
    }
    const byEmail = emailKeys.size
      ? await this.customers.findByEmailKeys(tx, [...emailKeys])
      : new Map<string, string>();

    // 3. Load every customer involved.
    const ids = new Set<string>([
      ...byIdentity.values(),
      ...byEmail.values(),
      ...records.flatMap((r) => (r.customerId ? [r.customerId] : [])),
    ]);
    const loaded = await this.customers.loadMany(tx, [...ids]);
    const working = new Map<string, Working>();
    for (const [id, row] of loaded) working.set(id, { row, storedVersion: row.version, dirty: false });

    const newIdentities: (Identity & { customerId: string; createdAt: string })[] = [];
    const versions: VersionRow[] = [];
    const auditEntries: AuditInput[] = [];
    const consentChanges: ConsentChange[] = [];
    const outcomes: ApplyOutcome[] = [];
    const pendingByEmail = new Map<string, string>();
    const cause = {
      actorType: ctx.actor.type,
      actorId: ctx.actor.id,
      correlationId: ctx.correlationId ?? null,
    };

    for (const rec of records) {
      const iKey = identityKey(rec.identity);
      const emailKey = this.emailKeyOf(rec.change.fields.email);
      let customerId =
        rec.customerId ??
        byIdentity.get(iKey) ??
        (emailKey ? (byEmail.get(emailKey) ?? pendingByEmail.get(emailKey)) : undefined);
      let w = customerId ? working.get(customerId) : undefined;
      if (customerId && w && (w.row.mergedInto || w.row.erasedAt)) {
        // Follow a merge to the survivor; an erased customer is never resurrected by an old identity.
        if (w.row.mergedInto && working.has(w.row.mergedInto)) {
          customerId = w.row.mergedInto;
          w = working.get(customerId);
        }
      }
      if (w?.row.erasedAt) {
        // Erased: an old identity or a late event must not bring the person's data back.
        outcomes.push({
          customerId: w.row.id,
          action: ApplyAction.Unchanged,
          version: w.row.version,
          changes: [],
        });
        continue;
      }
      const isNew = !w;
      if (!w) {
        // Sorts by creation: a new customer's rows go to the end of every index keyed by customer id.
        customerId = timeOrderedUuid(Date.parse(now), CUSTOMER_ID_NAMESPACE, iKey);
        w = {
          row: {
            id: customerId,
            version: 0,
            emailKey: null,
            fields: {},
            provenance: {},
            createdAt: now,
            updatedAt: now,
            mergedInto: null,
            erasedAt: null,
          },
          storedVersion: null,
          dirty: false,
        };
        working.set(customerId, w);
      }
      if (!rec.customerId && !byIdentity.has(iKey)) {
        newIdentities.push({ ...rec.identity, customerId: customerId!, createdAt: now });
        byIdentity.set(iKey, customerId!);
      }

      // A recorded identity names the source record, which breaks equal timestamps within one connection.
      const change =
        rec.customerId || rec.change.record !== undefined
          ? rec.change
          : { ...rec.change, record: rec.identity.externalId };
      const merged = mergeFields(w.row, change, ctx.priority);
      if (merged.changes.length) {
        const version = w.row.version + 1;
        w.row = {
          ...w.row,
          version,
          fields: merged.fields,
          provenance: merged.provenance,
          emailKey: this.emailKeyOf(merged.fields.email),
          updatedAt: now,
        };
        w.dirty = true;
        versions.push({
          customerId: w.row.id,
          version,
          changes: merged.changes,
          cause: { ...cause, connection: rec.change.connection },
          at: now,
        });
        if (merged.changes.some((c) => c.field === 'emailConsent'))
          consentChanges.push(consentChangeOf(w.row.id, rec, ctx));
        auditEntries.push({
          actor: ctx.actor,
          entityType: AuditEntity.Customer,
          entityId: w.row.id,
          action: isNew && version === 1 ? 'customer.created' : 'customer.updated',
          correlationId: ctx.correlationId ?? null,
          payload: {
            version,
            source: rec.identity,
            sourceTimestamp: rec.change.sourceTimestamp,
            changes: merged.changes,
          },
          changesInVersion: true,
        });
        outcomes.push({
          customerId: w.row.id,
          action: version === 1 ? ApplyAction.Created : ApplyAction.Updated,
          version,
          changes: merged.changes,
        });
      } else {
        if (merged.provenanceAdvanced) {
          w.row = { ...w.row, provenance: merged.provenance };
          w.dirty = true;
        }
        outcomes.push({
          customerId: w.row.id,
          action: ApplyAction.Unchanged,
          version: w.row.version,
          changes: [],
        });
      }
      if (w.row.emailKey && !pendingByEmail.has(w.row.emailKey)) pendingByEmail.set(w.row.emailKey, w.row.id);
    }

    // 4. Write: new customers, optimistic updates, identities, history, audit.
    const inserts: CustomerRow[] = [];
    const updates: { row: CustomerRow; expectedVersion: number }[] = [];
    for (const w of working.values()) {
      if (!w.dirty) continue;
      if (w.storedVersion === null) {
        if (w.row.version > 0) inserts.push(w.row);
      } else updates.push({ row: w.row, expectedVersion: w.storedVersion });
    }
    await this.customers.updateCustomers(tx, updates);
    await this.customers.insertCustomers(tx, inserts);
    // An identity whose new customer never got a value (all fields empty) still needs its customer row.
    const insertedIds = new Set(inserts.map((c) => c.id));
    const orphanCustomers: CustomerRow[] = [];
    for (const i of newIdentities) {
      const w = working.get(i.customerId)!;
      if (w.storedVersion === null && !insertedIds.has(w.row.id)) {
        insertedIds.add(w.row.id);
        orphanCustomers.push(w.row);
      }
    }
    await this.customers.insertCustomers(tx, orphanCustomers);
    await this.customers.insertIdentities(tx, newIdentities);
    await this.customers.insertVersions(tx, versions);
    await this.audit.append(tx, auditEntries);
    await this.consent?.record(tx, consentChanges);
    return outcomes;
  }
}

/** Proof of a consent change: the vendor record (or, for email-keyed events, the event) that carried it. */
function consentChangeOf(customerId: string, rec: InboundRecord, ctx: ApplyContext): ConsentChange {
  const event = !!rec.customerId;
  return {
    customerId,
    status: consentStatusOf(rec.change.fields.emailConsent),
    at: rec.change.fieldTimestamps?.emailConsent ?? rec.change.sourceTimestamp,
    sourceConnection: rec.change.connection,
    proof: {
      kind: event ? 'event' : 'record',
      object: rec.identity.object,
      ...(event ? { eventId: rec.identity.externalId } : { externalId: rec.identity.externalId }),
      field: 'emailConsent',
      correlationId: ctx.correlationId ?? null,
      actor: `${ctx.actor.type}:${ctx.actor.id}`,
    },
  };
}

function identityKey(i: Identity): string {
  return `${i.connection}\u0000${i.object}\u0000${i.externalId}`;
}
