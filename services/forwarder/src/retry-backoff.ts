import { TransientDeliveryError } from './delivery-errors';

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before the next attempt: exponential with full jitter (a random wait up to
 * base·2^(n-1), capped), so replicas retrying after one outage do not stampede the destination
 * together; never shorter than the destination's own Retry-After.
 */
export function retryDelayMs(attemptsMade: number, error: unknown, settings: BackoffSettings, random = Math.random): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.floor(random() * ceiling);
  const retryAfter = error instanceof TransientDeliveryError ? error.retryAfterMs ?? 0 : 0;
  return Math.max(jittered, retryAfter);
}
