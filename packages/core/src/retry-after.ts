/** Longer than any wait worth taking literally; what a caller caps to is its own choice. */
const FAR_FUTURE_MS = 10 * 365 * 86_400_000;

/**
 * A Retry-After header in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is
 * ignored (null). Always finite: a 400-digit number of seconds reads as "very long", not Infinity.
 */
export function parseRetryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.min(FAR_FUTURE_MS, Math.round(Number(value) * 1000));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.min(FAR_FUTURE_MS, Math.max(0, date - now));
}
