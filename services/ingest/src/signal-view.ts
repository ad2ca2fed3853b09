import type { SignalJob } from '@tsp/core';
import type { SignalView } from '@tsp/db';

export type { SignalView } from '@tsp/db';

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
