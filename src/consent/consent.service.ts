// Owns consent records: an append-only ledger per customer, written in the same transaction as the field change
// that caused it (so there is never a consent change without its proof). Readers ask for the latest status per
// purpose and channel; the outbox uses it to gate exports.
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Database, type Row, type Tx } from '../store/database';
import {
  ConsentChannel,
  ConsentPurpose,
  ConsentStatus,
  type ConsentChange,
  type ConsentRecord,
} from './consent.types';

@Injectable()
export class ConsentService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async record(tx: Tx, changes: ConsentChange[]): Promise<void> {
    if (!changes.length) return;
    const now = this.clock.nowIso();
    await tx.insertMany(
      'consent_records',
      ['customer_id', 'purpose', 'channel', 'status', 'at', 'source_connection', 'proof', 'recorded_at'],
      changes.map((c) => [
        c.customerId,
        c.purpose ?? ConsentPurpose.Marketing,
        c.channel ?? ConsentChannel.Email,
        c.status,
        new Date(c.at).toISOString(),
        c.sourceConnection,
        JSON.stringify(c.proof),
        now,
      ]),
    );
  }

  async list(customerId: string): Promise<ConsentRecord[]> {
    const rows = await this.db.query('SELECT * FROM consent_records WHERE customer_id = ? ORDER BY at, id', [
      customerId,
    ]);
    return rows.map(toRecord);
  }

  /**
   * Latest status per customer for a purpose and channel, by the source's timestamp (then by arrival), so a
   * revocation from any source wins over an older grant from another.
   */
  async latest(
    customerIds: string[],
    purpose = ConsentPurpose.Marketing,
    channel = ConsentChannel.Email,
    tx?: Tx,
  ): Promise<Map<string, ConsentStatus>> {
    const out = new Map<string, ConsentStatus>();
    const q = tx ?? this.db;
    for (let i = 0; i < customerIds.length; i += 500) {
      const slice = customerIds.slice(i, i + 500);
      const rows = await q.query(
        `SELECT customer_id, status, at, id FROM consent_records WHERE purpose = ? AND channel = ? AND customer_id IN (${slice.map(() => '?').join(',')}) ORDER BY customer_id, at, id`,
        [purpose, channel, ...slice],
      );
      // Ordered ascending: the last row per customer is the latest.
      for (const r of rows) out.set(r.customer_id, r.status as ConsentStatus);
    }
    return out;
  }
}

function toRecord(r: Row): ConsentRecord {
  return {
    id: Number(r.id),
    customerId: r.customer_id,
    purpose: r.purpose as ConsentPurpose,
    channel: r.channel as ConsentChannel,
    status: r.status as ConsentStatus,
    at: r.at,
    sourceConnection: r.source_connection,
    proof: JSON.parse(r.proof),
    recordedAt: r.recorded_at,
  };
}
