import http from 'node:http';
import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import IORedis from 'ioredis';

/** Deletes every Redis key of a test's prefix (its queues, lanes, counters…). */
export async function deletePrefixKeys(prefix: string): Promise<void> {
  const redis = new IORedis(process.env.REDIS_URL!);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** A Redis key prefix no other test run shares. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * Opens Redis connections for the tests of one file (call it inside their describe): every
 * connection it opened is closed, and the prefix's keys deleted, after them.
 */
export function redisConnectionsFor(prefix: string): () => IORedis {
  const connections: IORedis[] = [];
  afterAll(async () => {
    await deletePrefixKeys(prefix);
    for (const redis of connections) redis.disconnect();
  });
  return () => {
    const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    connections.push(redis);
    return redis;
  };
}

/**
 * A database of the suite's own, copied from the migrated test database by the global setup and
 * named after it (tsp_test → tsp_test_exits), so two test runs with their own TEST_DATABASE_URL
 * never drop each other's copies.
 */
export function isolatedDatabaseUrl(suffix: 'exits'): string {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_${suffix}`;
  return url.toString();
}

/** Polls until check returns a truthy value, or fails after timeoutMs. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 15_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A response's JSON body, read as the shape the test expects. fetch's json() is typed unknown; the
 * cast states what the test expects to find, and its assertions then check the values.
 */
export async function jsonOf<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface LocalServer {
  url: string;
  port: number;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for a destination or for Finviz. respond decides
 * each answer (default 200 {"ok":true}).
 */
export async function startLocalServer(
  respond: (req: ReceivedRequest, index: number) => { status: number; body?: string; headers?: Record<string, string>; delayMs?: number } = () => ({ status: 200, body: '{"ok":true}' }),
): Promise<LocalServer> {
  const received: ReceivedRequest[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = received.push(request) - 1;
      const answer = respond(request, index);
      const send = () => {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) {
        const timer = setTimeout(() => { pending.delete(timer); send(); }, answer.delayMs);
        pending.add(timer);
      }
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const timer of pending) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What fn throws (the test fails if it does not). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Sends raw bytes (what no HTTP client library would send) on a connection of its own; answers all the server wrote until it closed it. */
export function rawExchange(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.on('data', (chunk) => { answer += chunk.toString('latin1'); });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}
