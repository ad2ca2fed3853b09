import { RETRY_AFTER_CAP_MS, retryDelayMs } from '../src/retry-backoff';
import { TransientDeliveryError } from '../src/delivery-errors';
import { parseRetryAfterMs } from '@tsp/core';

const settings = { baseMs: 1000, maxMs: 60_000 };
const facts = { httpStatus: 503, latencyMs: 1 };

describe('retry backoff', () => {
  it('waits a random time up to base·2^(n-1) (full jitter)', () => {
    expect(retryDelayMs(1, new Error('x'), settings, () => 0.999)).toBe(999);
    expect(retryDelayMs(3, new Error('x'), settings, () => 0.5)).toBe(2000);
    expect(retryDelayMs(3, new Error('x'), settings, () => 0)).toBe(0);
  });

  it('never exceeds the maximum', () => {
    expect(retryDelayMs(30, new Error('x'), settings, () => 0.999999)).toBeLessThan(60_000);
  });

  it('never waits less than the destination asked in Retry-After', () => {
    const error = new TransientDeliveryError('429', { ...facts, httpStatus: 429 }, 2000);
    expect(retryDelayMs(1, error, settings, () => 0)).toBe(2000);
    expect(retryDelayMs(8, error, settings, () => 0.5)).toBe(30_000);
  });

  it('caps every wait on Retry-After, however long the destination asks for', () => {
    const error = new TransientDeliveryError('429', { ...facts, httpStatus: 429 }, parseRetryAfterMs('999999999'));
    expect(retryDelayMs(1, error, settings, () => 0)).toBe(RETRY_AFTER_CAP_MS);
  });

  it('reads a Retry-After of 400 digits as a long, finite wait', () => {
    expect(Number.isFinite(parseRetryAfterMs('9'.repeat(400)))).toBe(true);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfterMs('soon')).toBeNull();
    expect(parseRetryAfterMs(undefined)).toBeNull();
  });
});
