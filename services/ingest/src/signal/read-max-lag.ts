/**
 * An alert's own `max_lag`, in seconds, as 3Commas's signal bots read it: the oldest its `time` may
 * be on arrival for an entry to trade, overriding SIGNAL_MAX_LAG_SEC (0 turns the guard off for
 * this alert). A whole number of seconds, as a number or a string ("300").
 */

export type MaxLagResult = { ok: true; maxLagSec: number | undefined } | { ok: false; message: string };

const WHOLE_SECONDS = /^\s*\d{1,7}\s*$/;
const MAX_LAG_LIMIT_SEC = 30 * 86_400;

export function readMaxLag(raw: unknown): MaxLagResult {
  if (raw === undefined || raw === null) return { ok: true, maxLagSec: undefined };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && WHOLE_SECONDS.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isInteger(value) && value >= 0 && value <= MAX_LAG_LIMIT_SEC) return { ok: true, maxLagSec: value };
  return { ok: false, message: `max_lag must be a whole number of seconds from 0 (off) to ${MAX_LAG_LIMIT_SEC}, e.g. 300 or "300"` };
}
