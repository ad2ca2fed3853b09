import { feedError, type SignalChange } from '@tsp/core';
import type { AuditRecord } from './audit-records';

/**
 * What a batch of audit records changed, as the console's live feed shows it (see
 * core/signal-events.ts): one change per record about a signal, in the batch's order. Position
 * corrections are not signal changes.
 */
export function signalChangesOf(records: (AuditRecord & { queuedAt?: number })[]): SignalChange[] {
  return records.flatMap((record): SignalChange[] => {
    const at = new Date(record.queuedAt ?? Date.now()).toISOString();
    switch (record.type) {
      case 'decision': {
        const { signal, decision } = record;
        return [{
          id: signal.id, ticker: signal.ticker, side: signal.side, kind: signal.kind, price: signal.price ?? null, received_at: signal.receivedAt,
          status: decision.approved ? 'approved' : 'rejected', reason: decision.approved ? null : decision.reason, basis: decision.approved ? decision.basis : null,
          rank: decision.rank, snapshot_id: decision.snapshotId, at: record.decidedAt,
        }];
      }
      case 'attempt':
        return [{
          id: record.signalId, ticker: record.ticker, side: record.side, status: record.status, reason: record.reason,
          attempt: record.attempt, http_status: record.httpStatus, latency_ms: record.latencyMs, error: feedError(record.error), at: record.at,
        }];
      case 'expired':
        return [{ id: record.signalId, status: 'dead', reason: 'expired', at }];
      case 'gave_up':
        return [{ id: record.signalId, status: 'dead', reason: 'attempts_exhausted', at }];
      case 'malformed':
        return [{ id: record.signal.id, ticker: record.signal.ticker, side: record.signal.side, kind: record.signal.kind, status: 'rejected', reason: 'malformed', at }];
      case 'late_approval':
        return [{ id: record.signalId, status: 'approved', reason: null, basis: 'late_topn', rank: record.rank, snapshot_id: record.snapshotId, at: record.decidedAt }];
      case 'position':
        return [];
    }
  });
}
