import type { SignalJob } from './schemas';

/**
 * BullMQ job options shared by every producer of a queue, so a job means the same thing
 * whoever added it. Plain objects, typed by the caller.
 */

/** The forwarder registers a backoff strategy of this name (exponential, full jitter, Retry-After). */
export const DESTINATION_BACKOFF = 'destination';
/** The approver registers a backoff strategy of this name (exponential, capped: see DECISION_RETRY). */
export const DECISION_BACKOFF = 'decision';

/**
 * How long the approver keeps trying to decide a signal it cannot decide yet (Redis or Postgres
 * failing): attempts × a capped exponential wait, about 5 minutes in all. Bounded, so a
 * decision's record in Redis needs to outlive only this (see DECISION_TTL_SEC).
 */
export const DECISION_RETRY = { attempts: 15, baseMs: 500, maxMs: 30_000 } as const;

/** The approver's wait before attempt n + 1. */
export function decisionRetryDelayMs(attemptsMade: number): number {
  return Math.min(DECISION_RETRY.maxMs, DECISION_RETRY.baseMs * 2 ** Math.max(0, attemptsMade - 1));
}


/**
 * Runs of a delivery job that fail for a reason of tsp's own (Redis failing between two steps), on
 * top of its FORWARD_MAX_ATTEMPTS attempts at the destination: those are counted apart, so a
 * failure of ours never takes the place of an attempt at the destination.
 */
export const DELIVERY_RUNS_FOR_OUR_FAILURES = 5;

/**
 * `exit`: the delivery goes to the head of the queue (LIFO), so that behind a backlog at the rate
 * cap, risk comes off before new risk is taken; per-ticker order is kept by the lanes. Not BullMQ
 * priorities: a prioritized queue costs Redis a sorted set per job where a list is enough.
 */
export function forwardJobOptions(signalId: string, maxAttempts: number, exit = false) {
  return {
    // The signal id is the job id: adding the same signal twice is a no-op in BullMQ.
    jobId: signalId,
    attempts: maxAttempts + DELIVERY_RUNS_FOR_OUR_FAILURES,
    backoff: { type: DESTINATION_BACKOFF },
    lifo: exit,
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

export function signalJobOptions(signalId: string, urgent = false) {
  return {
    jobId: signalId,
    // Manual exits are decided before queued entries (LIFO, as exits are delivered: see forwardJobOptions).
    lifo: urgent,
    attempts: DECISION_RETRY.attempts,
    backoff: { type: DECISION_BACKOFF },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** Workers never give up on a job because its worker crashed: crashes must lose nothing. */
export const MAX_STALLED_COUNT = 100;

/**
 * An approved signal as the forward job carries it: without the body as received, which the
 * decision's audit record already took to Postgres and which the delivery never reads (a forward
 * job lives in Redis until it ends, up to a day).
 */
export function deliverableSignal(signal: SignalJob): SignalJob {
  const { receivedBody: _recorded, ...deliverable } = signal;
  return deliverable;
}
