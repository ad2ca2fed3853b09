import type { Delivery, Signal } from '../generated/client';

/** A signal's whole life as the contract's GET /signals/:id shows it (ingest and forwarder admin alike). */
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

export function viewOfSignalRow(row: Signal & { deliveries: Delivery[] }): SignalView {
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
    deliveries: [...row.deliveries]
      .sort((a, b) => a.attempt - b.attempt)
      .map((d) => ({ attempt: d.attempt, at: d.at.toISOString(), http_status: d.httpStatus, latency_ms: d.latencyMs, error: d.error })),
  };
}
