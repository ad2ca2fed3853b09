import { backoffDelayMs, DEFAULT_MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from '../src/backoff';

const low = () => 0;
const high = () => 0.999_999;

describe('backing off after Finviz pushes back', () => {
  it('never asks again faster than the refresh period', () => {
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 1, retryAfterMs: null, random: low })).toBeGreaterThanOrEqual(10_000);
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 1, retryAfterMs: 1000, random: low })).toBeGreaterThanOrEqual(10_000);
  });

  it('waits longer after each consecutive push-back, up to a ceiling', () => {
    const waits = [1, 2, 3, 4].map((failures) => backoffDelayMs({ refreshMs: 10_000, failures, retryAfterMs: null, random: low }));
    expect(waits).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 40, retryAfterMs: null, random: high })).toBeLessThanOrEqual(DEFAULT_MAX_BACKOFF_MS);
  });

  it('spreads waits with jitter between half and all of the ceiling', () => {
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 3, retryAfterMs: null, random: low })).toBe(40_000);
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 3, retryAfterMs: null, random: () => 0.5 })).toBe(60_000);
  });

  it('honours a longer Retry-After, within reason', () => {
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 1, retryAfterMs: 300_000, random: low })).toBe(300_000);
    expect(backoffDelayMs({ refreshMs: 10_000, failures: 1, retryAfterMs: 10 * MAX_RETRY_AFTER_MS, random: low })).toBe(MAX_RETRY_AFTER_MS);
  });
});
