import { randomUUID } from 'node:crypto';
import type { Logger } from './logger';

/** The header that names a request, in the request (from a proxy or a client) and in every answer. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * What a request id given by a client may be: up to 128 of letters, digits and `. _ : -` (UUIDs,
 * hex, ULIDs, proxies' ids). Anything else — control characters, spaces, a list of ids, non-ASCII
 * look-alikes, an over-long value — is replaced by a fresh id, never echoed into a header or a log
 * line, and never a reason to refuse the request (a signal is not lost over a tracing header).
 */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's id when it is safe, else a fresh UUID. */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The logger for the lines written about one request: each carries its `request_id`. The id is
 * passed, not found in an async context: Node 20's AsyncLocalStorage hooks every promise of the
 * process, and measured about 3 % of the relay's CPU per signal in a burst (README, Performance).
 */
export function requestLogger(logger: Logger, requestId: string | null | undefined): Logger {
  return requestId ? logger.child({ request_id: requestId }) : logger;
}

/**
 * The request id a job carries: its signal's `requestId` (the job's data, or the `signal` in it),
 * when it is a safe id. Jobs queued by an older ingest carry none.
 */
export function requestIdOfJob(data: unknown): string | null {
  const record = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const signal = record.signal && typeof record.signal === 'object' ? (record.signal as Record<string, unknown>) : record;
  const id = signal.requestId;
  return typeof id === 'string' && SAFE_REQUEST_ID.test(id) ? id : null;
}

/**
 * The logger for a worker's lines about one job: they carry the `request_id` of the request that
 * brought its signal in, so every line about a signal, in whichever service, can be found by it.
 */
export function jobLogger(logger: Logger, data: unknown): Logger {
  return requestLogger(logger, requestIdOfJob(data));
}
