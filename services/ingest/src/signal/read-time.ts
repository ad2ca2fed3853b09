/**
 * A signal's optional `time`: ISO-8601, or epoch seconds or milliseconds. Only times from
 * 2000-01-01 to one day after arrival are believed: anything else is a broken template or a
 * unit mix-up (seconds read as milliseconds lands in 1970), and `time` drives the staleness
 * check (SIGNAL_MAX_LAG_SEC), so a wrong one would wave a stale entry through or refuse a fresh one.
 */

/** `given`: the alert said when it fired (else the time is its arrival, and it is never judged late). */
export type TimeResult = { ok: true; time: string; given: boolean } | { ok: false; message: string };

const EARLIEST_MS = Date.UTC(2000, 0, 1);
/** Clocks of senders run a little ahead; a day ahead is not a clock, it is a wrong time. */
const MAX_AHEAD_MS = 24 * 3600 * 1000;
/** Epoch values below this are seconds, above it milliseconds (1e11 s is the year 5138). */
const EPOCH_SECONDS_LIMIT = 1e11;
const EPOCH_TEXT = /^\s*\d+(\.\d+)?\s*$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** undefined, null or "": arrival time. */
export function readTime(raw: unknown, now: Date): TimeResult {
  if (raw === undefined || raw === null || raw === '') return { ok: true, time: now.toISOString(), given: false };
  const ms = epochMs(raw) ?? isoMs(raw);
  if (!Number.isFinite(ms)) {
    return { ok: false, message: 'time must be ISO-8601 (e.g. "2026-11-24T10:00:00Z") or epoch seconds/milliseconds' };
  }
  if (ms < EARLIEST_MS) return { ok: false, message: 'time is before 2000-01-01T00:00:00Z' };
  if (ms > now.getTime() + MAX_AHEAD_MS) return { ok: false, message: 'time is more than one day after the signal arrived' };
  return { ok: true, time: new Date(ms).toISOString(), given: true };
}

/** A number or numeric string as epoch milliseconds; null when raw is neither. */
function epochMs(raw: unknown): number | null {
  const epoch = typeof raw === 'number' ? raw : typeof raw === 'string' && EPOCH_TEXT.test(raw) ? Number(raw) : null;
  if (epoch === null) return null;
  return epoch < EPOCH_SECONDS_LIMIT ? epoch * 1000 : epoch;
}

/** An ISO-8601 string as epoch milliseconds; NaN when it is not one or names a day no calendar has. */
function isoMs(raw: unknown): number {
  if (typeof raw !== 'string') return Number.NaN;
  const text = raw.trim();
  const date = ISO_DATE.exec(text);
  // Date.parse rolls 2026-02-31 over to March 3 instead of refusing it.
  if (!date || !isCalendarDay(Number(date[1]), Number(date[2]), Number(date[3]))) return Number.NaN;
  return Date.parse(text);
}

function isCalendarDay(year: number, month: number, day: number): boolean {
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day); // rolls over an impossible month or day
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}
