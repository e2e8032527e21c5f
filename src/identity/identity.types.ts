// Identity resolution vocabulary: candidate states and why a merge happened.
import type { CustomerRow } from '../store/customer.repository';
import type { FieldExplanation } from './similarity';

export enum CandidateStatus {
  /** Waiting in the review queue. */
  Pending = 'pending',
  Merged = 'merged',
  Rejected = 'rejected',
  /** Merged, then undone; never proposed again automatically. */
  Undone = 'undone',
}

export enum MergeReason {
  Automatic = 'auto',
  Reviewed = 'review',
}

export interface MergeCandidate {
  id: number;
  customerA: string;
  customerB: string;
  score: number;
  explanation: { fields: FieldExplanation[]; cap?: string };
  blockKey: string;
  status: CandidateStatus;
  decidedBy: string | null;
  survivorId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What an undo needs: both rows as they were at the merge, and what was moved from the loser. */
export interface MergeSnapshot {
  reason: MergeReason;
  survivor: CustomerRow;
  loser: CustomerRow;
  movedIdentities: { connection: string; object: string; externalId: string }[];
  movedDestinations: { connection: string; object: string }[];
  mergedAt: string;
}
