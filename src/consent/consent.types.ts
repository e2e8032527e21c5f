// Consent vocabulary. One purpose and channel today (email marketing); the table is shaped for more.
import { EmailConsent } from '../canonical/customer.model';

export enum ConsentPurpose {
  Marketing = 'marketing',
}

export enum ConsentChannel {
  Email = 'email',
}

export enum ConsentStatus {
  Granted = 'granted',
  Revoked = 'revoked',
  Unknown = 'unknown',
}

/** What set a consent: a vendor record (its field) or a vendor event, with the run or delivery that carried it. */
export interface ConsentProof {
  kind: 'record' | 'event' | 'merge' | 'unmerge';
  object?: string;
  externalId?: string;
  eventId?: string;
  field: string;
  correlationId?: string | null;
  actor?: string;
  mergeId?: number;
}

export interface ConsentChange {
  customerId: string;
  purpose?: ConsentPurpose;
  channel?: ConsentChannel;
  status: ConsentStatus;
  /** The source's timestamp for the change (ISO 8601), never our clock. */
  at: string;
  sourceConnection: string;
  proof: ConsentProof;
}

export interface ConsentRecord extends Required<Omit<ConsentChange, 'proof'>> {
  id: number;
  proof: ConsentProof;
  recordedAt: string;
}

export function consentStatusOf(value: unknown): ConsentStatus {
  if (value === EmailConsent.Subscribed) return ConsentStatus.Granted;
  if (value === EmailConsent.Unsubscribed) return ConsentStatus.Revoked;
  return ConsentStatus.Unknown;
}
