import http from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './free-port';

/** One request the destination received. */
export interface Arrival {
  /** The Idempotency-Key header: the signal id. */
  key: string | undefined;
  body: Record<string, unknown>;
  /** When the request's headers arrived (ms epoch): the closest this side sees to "the request started". */
  at: number;
  /** When the answer was sent; undefined while the request is in flight (or its sender died). */
  answeredAt?: number;
  status?: number;
  /** The sender's end of the connection (its local port): with senderOf(), which replica sent it. */
  senderPort?: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Answer this late: keeps the request in flight, so a sender can be killed mid-delivery. */
  delayMs?: number;
}

export type Responder = (arrival: Arrival, previous: Arrival[]) => Answer;

const OK: Responder = () => ({ status: 200 });

/**
 * The webhook destination: a real HTTP server in the test process that records every request
 * and answers as the test scripts it. It can go down (connections refused) and come back on the
 * same port, as a broker bridge does in an outage.
 */
export class Destination {
  readonly arrivals: Arrival[] = [];
  respond: Responder = OK;
  /**
   * Kept as answers go out: tests ask it once per accepted signal while they wait, and this
   * server shares their event loop, so building it from every arrival on each ask (thousands of
   * times thousands) starved the answers and stalled the deliveries a test was waiting for.
   */
  private readonly delivered = new Set<string>();
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(readonly port: number) {}

  static async start(): Promise<Destination> {
    const destination = new Destination(await freePort());
    await destination.comeUp();
    return destination;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests that arrived for one signal, in arrival order. */
  arrivalsOf(key: string): Arrival[] {
    return this.arrivals.filter((a) => a.key === key);
  }

  /** Signal ids with at least one 2xx answer (live: it grows as answers go out). */
  deliveredKeys(): ReadonlySet<string> {
    return this.delivered;
  }

  async comeUp(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  /** Closes the port and cuts open connections: new requests get ECONNREFUSED. */
  async goDown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text);
      } catch {
        body = { unparsable: text };
      }
      const key = req.headers['idempotency-key'];
      const arrival: Arrival = { key: Array.isArray(key) ? key[0] : key, body, at, senderPort: req.socket.remotePort };
      const previous = this.arrivals.slice();
      this.arrivals.push(arrival);
      const answer = this.respond(arrival, previous);
      const send = () => {
        // The sender died while we waited: no answer reaches anyone, so none is recorded.
        if (res.destroyed || req.socket.destroyed) return;
        arrival.answeredAt = Date.now();
        arrival.status = answer.status;
        if (answer.status < 300 && arrival.key) this.delivered.add(arrival.key);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.status < 300 ? '{"ok":true}' : '{"error":"scripted failure"}');
      };
      if (!answer.delayMs) return send();
      const timer = setTimeout(() => { this.timers.delete(timer); send(); }, answer.delayMs);
      this.timers.add(timer);
    });
  }
}
