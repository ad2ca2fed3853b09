import type { DeadReason, Decision, MalformedSignal, Side, SignalJob } from '@tsp/core';

/** A signal and its decision, written once by the approver. */
export interface DecisionRecord {
  type: 'decision';
  signal: SignalJob;
  decision: Decision;
  decidedAt: string;
}

/** One delivery attempt's outcome, as the audit trail records it. */
export interface AttemptRecord {
  type: 'attempt';
  signalId: string;
  attempt: number;
  at: string;
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  status: 'forwarded' | 'retrying' | 'dead';
  reason: DeadReason | null;
  ticker: string;
  side: Side;
  price: number | null;
}

/** A signal that outlived SIGNAL_TTL_SEC before an attempt could start. */
export interface ExpiryRecord {
  type: 'expired';
  signalId: string;
}

/** A delivery whose job ran out of runs for reasons of tsp's own (its attempts are already recorded): dead, attempts_exhausted. */
export interface GaveUpRecord {
  type: 'gave_up';
  signalId: string;
  error: string;
}

/**
 * A job that failed its schema in the approver or the forwarder: the signal is recorded rejected,
 * reason malformed, with what could be read of it, never dropped without a trace.
 */
export interface MalformedRecord {
  type: 'malformed';
  signal: MalformedSignal;
  stage: 'approver' | 'forwarder';
}

/** A BUY rejected not_in_topn, approved later when its ticker entered the Top-N (REAPPROVE_WINDOW_SEC). */
export interface LateApprovalRecord {
  type: 'late_approval';
  signalId: string;
  rank: number | null;
  snapshotId: string | null;
  decidedAt: string;
}

export type AuditRecord = DecisionRecord | AttemptRecord | ExpiryRecord | GaveUpRecord | MalformedRecord | LateApprovalRecord;

export const signalIdOf = (record: AuditRecord) => (record.type === 'decision' || record.type === 'malformed' ? record.signal.id : record.signalId);
