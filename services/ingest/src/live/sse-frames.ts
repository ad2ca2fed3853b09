/** Server-Sent Events framing, and the Redis Stream ids that serve as event ids. */

/** A Redis Stream entry id, `<ms>-<seq>`: what Last-Event-ID must be. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Orders two stream ids (negative: a before b). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt);
  const [bMs, bSeq] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

/** One event. `data` is JSON text already (never holds a newline: JSON escapes them). */
export function sseFrame(event: string, data: string, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`;
}

/** A comment line: keeps proxies and browsers from timing an idle stream out. */
export const HEARTBEAT_FRAME = ': heartbeat\n\n';

/** How long a browser waits before reconnecting after the stream ends (EventSource's `retry`). */
export const RECONNECT_FRAME = 'retry: 2000\n\n';
