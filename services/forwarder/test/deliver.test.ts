import net from 'node:net';
import { Webhook } from 'standardwebhooks';
import { Destination } from '../src/deliver';
import { PermanentDeliveryError, TransientDeliveryError } from '../src/delivery-errors';
import { startLocalServer, waitFor, type LocalServer } from '../../../test/support/helpers';

const BODY = { ticker: 'AAPL', side: 'BUY' as const, action: 'buy', price: 150.25, time: '2026-11-25T10:00:00.000Z', qty: 3 };

describe('one delivery attempt to the destination', () => {
  let server: LocalServer;
  let answer: { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

  beforeAll(async () => {
    server = await startLocalServer(() => answer);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    answer = { status: 200, body: '{"ok":true}' };
    server.received.length = 0;
  });

  const destination = (options: { secret?: string; timeoutMs?: number } = {}) =>
    new Destination({ url: `${server.url}/hook`, timeoutMs: options.timeoutMs ?? 2000, secret: options.secret ?? null });

  it('posts the body as JSON with the signal id as Idempotency-Key and reports status and latency', async () => {
    const facts = await destination().deliver('sig-1', BODY);
    expect(facts).toEqual({ httpStatus: 200, latencyMs: expect.any(Number) });
    const [received] = server.received;
    expect(received.headers['idempotency-key']).toBe('sig-1');
    expect(received.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received.body)).toEqual(BODY);
    expect(received.headers['webhook-signature']).toBeUndefined();
  });

  it('treats 500 as transient', async () => {
    answer = { status: 500, body: 'boom' };
    await expect(destination().deliver('sig-2', BODY)).rejects.toEqual(expect.any(TransientDeliveryError));
  });

  it('treats 408 and 429 as transient and keeps the Retry-After', async () => {
    answer = { status: 429, headers: { 'retry-after': '2' } };
    const error = await destination().deliver('sig-3', BODY).catch((e) => e);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.facts.httpStatus).toBe(429);
    answer = { status: 408 };
    await expect(destination().deliver('sig-3', BODY)).rejects.toBeInstanceOf(TransientDeliveryError);
  });

  it('treats other 4xx as permanent', async () => {
    for (const status of [400, 401, 404, 422]) {
      answer = { status, body: '{"error":"nope"}' };
      const error = await destination().deliver('sig-4', BODY).catch((e) => e);
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error.message).toContain(String(status));
    }
  });

  it('treats a timeout as transient, with no HTTP status', async () => {
    answer = { status: 200, delayMs: 500 };
    const error = await destination({ timeoutMs: 100 }).deliver('sig-5', BODY).catch((e) => e);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.facts.httpStatus).toBeNull();
    expect(error.message).toMatch(/timed out/);
  });

  it('gives up at its deadline on a destination that trickles its answer a byte at a time', async () => {
    // axios's own timeout is an idle timer: a byte every 100 ms kept it from ever firing.
    const trickler = net.createServer((socket) => {
      const answer = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= answer.length || socket.destroyed) return clearInterval(timer);
        socket.write(answer[sent++]);
      }, 100);
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    try {
      const port = (trickler.address() as net.AddressInfo).port;
      const error = await new Destination({ url: `http://127.0.0.1:${port}/hook`, timeoutMs: 300, secret: null }).deliver('sig-slow', BODY).catch((e) => e);
      expect(error).toBeInstanceOf(TransientDeliveryError);
      expect(error.message).toMatch(/timed out after 300 ms/);
    } finally {
      trickler.close();
    }
  });

  it('answers a 2xx at once and still cuts, at its deadline, a body that trickles behind it', async () => {
    // The status is the answer; the body is drained behind it, and the deadline still bounds that.
    let sentAt = 0;
    let closedAt = 0;
    const sockets = new Set<net.Socket>();
    const trickler = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => {
        sentAt = Date.now();
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
        const timer = setInterval(() => { if (!socket.destroyed) socket.write(' '); }, 100);
        socket.on('close', () => { clearInterval(timer); closedAt = Date.now(); });
        socket.on('error', () => clearInterval(timer));
      });
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    try {
      const port = (trickler.address() as net.AddressInfo).port;
      const facts = await new Destination({ url: `http://127.0.0.1:${port}/hook`, timeoutMs: 1000, secret: null }).deliver('sig-trickle-2xx', BODY);
      expect(facts.httpStatus).toBe(200);
      expect(closedAt).toBe(0);
      await waitFor(() => closedAt, 5000, 'the trickling body cut at the deadline');
      expect(closedAt - sentAt).toBeGreaterThanOrEqual(950);
    } finally {
      for (const socket of sockets) socket.destroy();
      trickler.close();
    }
  });

  it('reads no more than the start of a failed answer, however large', async () => {
    answer = { status: 503, body: 'x'.repeat(5 * 1024 * 1024) };
    const error = await destination().deliver('sig-big', BODY).catch((e) => e);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message.length).toBeLessThan(300);
    answer = { status: 200, body: 'y'.repeat(5 * 1024 * 1024) };
    expect(await destination().deliver('sig-big-ok', BODY)).toMatchObject({ httpStatus: 200 });
  });

  it('treats a refused connection as transient', async () => {
    const nowhere = new Destination({ url: 'http://127.0.0.1:1/hook', timeoutMs: 1000, secret: null });
    await expect(nowhere.deliver('sig-6', BODY)).rejects.toBeInstanceOf(TransientDeliveryError);
  });

  it('signs per Standard Webhooks so the standardwebhooks library verifies it (whsec_ and raw secrets)', async () => {
    const whsec = `whsec_${Buffer.from('a-test-signing-key-of-32-bytes!!').toString('base64')}`;
    await destination({ secret: whsec }).deliver('sig-7', BODY);
    const [received] = server.received;
    expect(received.headers['webhook-id']).toBe('sig-7');
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(received.headers[h])]));
    expect(new Webhook(whsec).verify(received.body, headers)).toEqual(BODY);
    expect(() => new Webhook(`whsec_${Buffer.from('another-key').toString('base64')}`).verify(received.body, headers)).toThrow();

    server.received.length = 0;
    await destination({ secret: 'raw secret' }).deliver('sig-8', BODY);
    const raw = server.received[0];
    const rawHeaders = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(raw.headers[h])]));
    expect(new Webhook(Buffer.from('raw secret').toString('base64')).verify(raw.body, rawHeaders)).toEqual(BODY);
  });
});
