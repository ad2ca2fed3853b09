/**
 * What a failed delivery attempt means decides what happens next, so it is a type, not a message:
 * a transient failure is retried with backoff, a permanent one makes the delivery dead at once.
 */

export interface AttemptFacts {
  /** The destination's HTTP status, null when no answer came (timeout, connection error). */
  httpStatus: number | null;
  latencyMs: number;
}

export class TransientDeliveryError extends Error {
  constructor(
    message: string,
    readonly facts: AttemptFacts,
    /** The destination's Retry-After, in ms, when it sent one: the next attempt waits at least this. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'TransientDeliveryError';
  }
}

export class PermanentDeliveryError extends Error {
  constructor(message: string, readonly facts: AttemptFacts) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}
