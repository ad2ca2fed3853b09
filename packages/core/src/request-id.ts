import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

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

const scope = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `work` as part of the request `requestId`: log lines written meanwhile carry it. */
export function inRequest<T>(requestId: string, work: () => T): T {
  return scope.run({ requestId }, work);
}

/** The id of the request being handled, if any (null in a worker's job or a timer). */
export function currentRequestId(): string | null {
  return scope.getStore()?.requestId ?? null;
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
 * Runs a worker's job as part of the request that brought its signal in, so every log line about
 * the signal, in whichever service, carries that request's `request_id`. A job without one runs as
 * it would have (outside any request).
 */
export function inJobRequest<T>(data: unknown, work: () => T): T {
  const requestId = requestIdOfJob(data);
  return requestId ? inRequest(requestId, work) : scope.exit(work);
}
