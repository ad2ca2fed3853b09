import { TransientDeliveryError } from './delivery-errors';

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/**
 * The longest a delivery waits on a destination's Retry-After. A signal whose wait would end after
 * its TTL ends at once instead (see the forward worker); an exit, which has no TTL, waits at most
 * this: a destination asking for days is broken, and a person should look.
 */
export const RETRY_AFTER_CAP_MS = 15 * 60_000;

/** The wait a destination asked for, capped. */
export function retryAfterWaitMs(error: unknown): number {
  return error instanceof TransientDeliveryError ? Math.min(error.retryAfterMs ?? 0, RETRY_AFTER_CAP_MS) : 0;
}

/**
 * Delay before the next attempt: exponential with full jitter (a random wait up to
 * base·2^(n-1), capped), so replicas retrying after one outage do not stampede the destination
 * together; never shorter than the destination's own Retry-After (itself capped).
 */
export function retryDelayMs(attemptsMade: number, error: unknown, settings: BackoffSettings, random = Math.random): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, retryAfterWaitMs(error));
}
