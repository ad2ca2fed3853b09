/**
 * BullMQ job options shared by every producer of a queue, so a job means the same thing
 * whoever added it. Plain objects: core does not depend on BullMQ.
 */

/** The forwarder registers a backoff strategy of this name (exponential, full jitter, Retry-After). */
export const DESTINATION_BACKOFF = 'destination';

/**
 * Manual exits go to the head of the queue (LIFO). Not BullMQ priorities: a job without a priority
 * is taken before every prioritized one, so prioritizing the exit would put it last.
 */
export function forwardJobOptions(signalId: string, maxAttempts: number, urgent = false) {
  return {
    // The signal id is the job id: adding the same signal twice is a no-op in BullMQ.
    jobId: signalId,
    attempts: maxAttempts,
    backoff: { type: DESTINATION_BACKOFF },
    lifo: urgent,
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export function signalJobOptions(signalId: string, urgent = false) {
  return {
    jobId: signalId,
    // Manual exits are decided before queued entries (see forwardJobOptions).
    lifo: urgent,
    // The approver retries while Postgres is unreachable; a decision is idempotent per signal.
    attempts: 50,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Workers never give up on a job because its worker crashed: crashes must lose nothing. */
export const MAX_STALLED_COUNT = 100;
