import type { SignalJob } from '@tsp/core';
import type { Delivery, Signal } from '@tsp/db';

/** A signal's whole life as the contract's GET /signals/:id shows it. */
export interface SignalView {
  id: string;
  kind: string;
  ticker: string;
  side: string;
  price: number | null;
  time: string;
  received_at: string;
  status: string;
  reason: string | null;
  basis: string | null;
  rank: number | null;
  snapshot_id: string | null;
  deliveries: { attempt: number; at: string; http_status: number | null; latency_ms: number; error: string | null }[];
}

export function viewOfRow(row: Signal & { deliveries: Delivery[] }): SignalView {
  return {
    id: row.id,
    kind: row.kind,
    ticker: row.ticker,
    side: row.side,
    price: row.price,
    time: row.time.toISOString(),
    received_at: row.receivedAt.toISOString(),
    status: row.status,
    reason: row.reason,
    basis: row.basis,
    rank: row.rank,
    snapshot_id: row.snapshotId,
    deliveries: row.deliveries
      .sort((a, b) => a.attempt - b.attempt)
      .map((d) => ({ attempt: d.attempt, at: d.at.toISOString(), http_status: d.httpStatus, latency_ms: d.latencyMs, error: d.error })),
  };
}

/** A signal the approver has not decided yet lives only as a job in Redis. */
export function viewOfQueuedJob(job: SignalJob): SignalView {
  return {
    id: job.id,
    kind: job.kind,
    ticker: job.ticker,
    side: job.side,
    price: job.price ?? null,
    time: job.time,
    received_at: job.receivedAt,
    status: 'queued',
    reason: null,
    basis: null,
    rank: null,
    snapshot_id: null,
    deliveries: [],
  };
}
