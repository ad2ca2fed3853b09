import type { DeadReason, Decision, MalformedSignal, OpenPosition, Side, SignalJob } from '@tsp/core';

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

/**
 * A position opened or closed by hand (POST /positions/:ticker/open, /close), queued with the change
 * to the book in Redis, so the durable copy applies it in order with the deliveries around it.
 */
export interface PositionCorrectionRecord {
  type: 'position';
  ticker: string;
  /** The position opened; null: closed. */
  open: OpenPosition | null;
  at: string;
}

export type AuditRecord = DecisionRecord | AttemptRecord | ExpiryRecord | GaveUpRecord | MalformedRecord | PositionCorrectionRecord | LateApprovalRecord;

/** The signal a record is about (for a position correction, which has none, the ticker's position). */
export function signalIdOf(record: AuditRecord): string {
  if (record.type === 'decision' || record.type === 'malformed') return record.signal.id;
  if (record.type === 'position') return `position:${record.ticker}`;
  return record.signalId;
}
