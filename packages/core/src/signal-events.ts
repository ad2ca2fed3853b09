import type IORedis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { redisKeys } from './names';

/**
 * The console's live feed: a Redis Stream (`<prefix>:events`) of signal state changes, written
 * once per batch, never once per signal. Ingest adds the signals it accepted in a short window; the
 * audit trail's flusher adds each batch it applied (decisions, attempts, ends). Every ingest reads
 * the stream with one blocking XREAD and fans it out to its browsers (GET /admin/events); an entry
 * id is the SSE event id a browser resumes from.
 *
 * A change says where a signal is now. Two writers mean a signal's `queued` can arrive after its
 * decision: a reader never moves a signal back to `queued` (see the README's event format).
 */
export interface SignalChange {
  id: string;
  status: 'queued' | 'approved' | 'rejected' | 'forwarded' | 'retrying' | 'dead';
  /** When the change happened (ISO-8601). */
  at: string;
  ticker?: string;
  side?: string;
  kind?: string;
  price?: number | null;
  received_at?: string;
  reason?: string | null;
  basis?: string | null;
  rank?: number | null;
  snapshot_id?: string | null;
  /** A delivery attempt: its number, the destination's status (null: no answer), how long it took, why it failed. */
  attempt?: number;
  http_status?: number | null;
  latency_ms?: number;
  error?: string | null;
}

/**
 * Entries kept (approximately: trimmed by whole nodes). An entry is one batch, typically a few
 * hundred bytes to a few KB, so the stream stays within tens of MB; at a busy relay's dozen entries
 * a second it holds a quarter of an hour, far more than a browser needs to catch up after a
 * restart.
 */
export const SIGNAL_EVENTS_MAXLEN = 10_000;
/** The entry's one field: the JSON array of changes. */
export const SIGNAL_EVENTS_FIELD = 'changes';
/** A delivery error as the feed shows it: the detail view has the whole text. */
const ERROR_CHARS = 200;

/** A delivery error shortened for the feed. */
export function feedError(error: string | null): string | null {
  return error && error.length > ERROR_CHARS ? `${error.slice(0, ERROR_CHARS)}…` : error;
}

/** Appends one entry of changes (nothing when there are none), in the caller's pipeline or at once. */
export function addSignalChanges(target: IORedis | ChainableCommander, prefix: string, changes: SignalChange[]): unknown {
  if (!changes.length) return null;
  return target.xadd(redisKeys(prefix).signalEvents, 'MAXLEN', '~', SIGNAL_EVENTS_MAXLEN, '*', SIGNAL_EVENTS_FIELD, JSON.stringify(changes));
}
