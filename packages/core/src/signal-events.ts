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
 * Entries kept (approximately: trimmed by whole nodes). An entry is a batch (≈ 280 bytes a
 * change): a few hundred bytes to a few KB normally, ≈ 30 KB at ingest's full rate, 140 KB for a
 * full audit batch of 500. A browser is replayed at most 300 entries (more: it reloads its list),
 * so keeping a few times that is enough, and bounds the stream to ≈ 1 MB normally, ≈ 30 MB at full
 * rate, 140 MB in the worst case.
 */
export const SIGNAL_EVENTS_MAXLEN = 1_000;
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
