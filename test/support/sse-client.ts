import http from 'node:http';
import { waitFor } from './helpers';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A Server-Sent Events connection read over plain HTTP, as a browser's EventSource would. */
export interface SseConnection {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every event so far, in order. */
  events: SseEvent[];
  /** The answer's body when it was not a stream (an error). */
  body: string;
  /** True once the server ended the stream. */
  ended: boolean;
  /** The first event (from the start) that `match` accepts, waiting for it up to `timeoutMs`. */
  waitForEvent(match: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

/** Opens GET `url` and resolves once the answer's headers are in. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const connection: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        body: '',
        ended: false,
        waitForEvent: (match, timeoutMs = 10_000) => waitFor(() => connection.events.find(match), timeoutMs, 'an event'),
        close: () => req.destroy(),
      };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (connection.status !== 200) {
          connection.body += chunk;
          return;
        }
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id') event.id = value;
            else if (field === 'event') { event.event = value; isEvent = true; } else if (field === 'data') { event.data = value; isEvent = true; }
          }
          if (isEvent) connection.events.push(event);
        }
      });
      res.on('end', () => { connection.ended = true; });
      res.on('close', () => { connection.ended = true; });
      resolve(connection);
    });
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
  });
}
