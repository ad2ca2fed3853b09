/** When to ask Finviz again after it pushed back (429, 5xx, 403/challenge). */
export interface BackoffInput {
  /** The configured refresh period: we never ask faster than this. */
  refreshMs: number;
  /** Consecutive push-backs so far, this one included (≥ 1). */
  failures: number;
  /** What the server asked for in Retry-After, if anything. */
  retryAfterMs: number | null;
  /** Longest wait the exponential part grows to. */
  maxBackoffMs?: number;
  /** In [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

/** Blocks can last hours, but past this we would rather try now and then than go silent. */
export const DEFAULT_MAX_BACKOFF_MS = 10 * 60_000;
/** A Retry-After beyond this is more likely a bug than an instruction; cap how long we park. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * Exponential backoff with "equal jitter": the wait lies in [ceiling/2, ceiling), so replicas
 * that were blocked together do not come back together, and a back-off never shrinks to nothing.
 */
export function backoffDelayMs(input: BackoffInput): number {
  const random = input.random ?? Math.random;
  const maxBackoffMs = Math.max(input.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, input.refreshMs);
  const exponent = Math.min(Math.max(input.failures, 1), 30);
  const ceiling = Math.min(maxBackoffMs, input.refreshMs * 2 ** exponent);
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  const asked = Math.min(input.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
  return Math.round(Math.max(input.refreshMs, jittered, asked));
}
