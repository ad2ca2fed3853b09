import net from 'node:net';
import type http from 'node:http';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import winston from 'winston';
import { Registry } from 'prom-client';
import { closeServer, createServiceApp, ForwardJobSchema, jobLogger, listen, requestIdOfJob, requestLogger, SignalJobSchema, type Route } from '../src';
import { rawExchange } from '../../../test/support/helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A logger whose JSON lines are kept in `lines`, as createLogger's are written to stdout. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  return { logger, lines };
}

const requestIdIn = (answer: string) => answer.match(/^x-request-id: (.*)\r$/im)?.[1];

describe('request ids', () => {
  const { logger, lines } = recordingLogger();
  let server: http.Server;
  let port: number;
  const routes: Route[] = [{
    // Logs before and after waiting, with a JSON body read by the body parser in between.
    method: 'post', path: '/work', handler: async (req) => {
      const { wait, label } = req.body as { wait: number; label: string };
      const log = requestLogger(logger, req.requestId);
      log.info('started', { label });
      await sleep(wait);
      log.warn('finished', { label });
      return { status: 200, body: { label } };
    },
    docs: { summary: 'work', ok: { status: 200, description: 'done' }, errors: {} },
  }, {
    method: 'get', path: '/fail', handler: () => { throw new Error('boom'); },
    docs: { summary: 'fails', ok: { status: 200, description: 'never' }, errors: {} },
  }];

  beforeAll(async () => {
    const app = createServiceApp({
      service: 'test', about: 'a test service', logger, routes, readiness: {}, status: async () => ({}), metrics: new Registry(),
    });
    server = await listen(app, 0);
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => closeServer(server));
  beforeEach(() => { lines.length = 0; });

  const post = (body: unknown, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/work`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body),
  });

  it('answers a fresh id when the request names none, on every answer: routes, core routes, 404s, refused bodies', async () => {
    const answers = await Promise.all([
      post({ wait: 0, label: 'a' }),
      fetch(`http://127.0.0.1:${port}/health`),
      fetch(`http://127.0.0.1:${port}/nowhere`),
      fetch(`http://127.0.0.1:${port}/work`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' }),
    ]);
    expect(answers.map((res) => res.status)).toEqual([200, 200, 404, 400]);
    const ids = answers.map((res) => res.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(4);
  });

  it.each([
    'req-123', '0f8fe2a4-6bd1-4bde-9a21-2b1b36c4f4a5', 'Root.1:abc_DEF', 'x'.repeat(128),
  ])('keeps a safe id the request names (%s)', async (id) => {
    const res = await post({ wait: 0, label: 'kept' }, { 'X-Request-Id': id });
    expect(res.headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['over-long', 'x'.repeat(129)],
    ['with a space', 'abc def'],
    ['with a tab', 'abc\tdef'],
    ['a list of ids', 'abc, def'],
    ['markup', '<script>alert(1)</script>'],
    ['a header injection attempt', 'abc%0d%0aSet-Cookie:x=1'],
    ['look-alike letters (Cyrillic а and е)', 'r\u0430qu\u0435st'],
  ])('replaces an unsafe id: %s', async (_what, id) => {
    const head = Buffer.concat([Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: '), Buffer.from(id, 'utf8'), Buffer.from('\r\n\r\n')]);
    const answer = await rawExchange(port, head);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(requestIdIn(answer)).toMatch(UUID);
  });

  it('replaces an id the request names twice', async () => {
    const answer = await rawExchange(port, Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n'));
    expect(requestIdIn(answer)).toMatch(UUID);
  });

  it('refuses a request whose header holds a control character before it reaches the service (the HTTP parser)', async () => {
    const answer = await rawExchange(port, Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: abc\x01def\r\n\r\n'));
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).not.toContain('abc\x01def');
  });

  it('gives the handler its request\'s id: the lines it writes through requestLogger carry it, each concurrent request its own', async () => {
    const [slow, quick] = await Promise.all([
      post({ wait: 150, label: 'slow' }, { 'X-Request-Id': 'slow-1' }),
      (async () => { await sleep(20); return post({ wait: 0, label: 'quick' }); })(),
    ]);
    const quickId = quick.headers.get('x-request-id');
    expect(slow.headers.get('x-request-id')).toBe('slow-1');
    const byLabel = (label: string) => lines.filter((line) => line.label === label).map((line) => [line.message, line.request_id]);
    expect(byLabel('slow')).toEqual([['started', 'slow-1'], ['finished', 'slow-1']]);
    expect(byLabel('quick')).toEqual([['started', quickId], ['finished', quickId]]);
  });

  it('keeps the id for a body that arrives in later packets (read in the socket\'s callbacks)', async () => {
    const body = JSON.stringify({ wait: 0, label: 'late-body' });
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => { answer += chunk.toString(); });
    const ended = new Promise((resolve) => socket.on('end', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /work HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Request-Id: late-9\r\n\r\n${body.slice(0, 5)}`);
    await sleep(100);
    socket.write(body.slice(5));
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(lines.filter((line) => line.label === 'late-body').map((line) => line.request_id)).toEqual(['late-9', 'late-9']);
  });

  it('names the request in the log line of a request that failed', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/fail`, { headers: { 'X-Request-Id': 'failing-7' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('failing-7');
    expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'request failed', request_id: 'failing-7' })]);
  });

  it('answers core routes whatever body a probe sends (they read none)', async () => {
    const answer = await rawExchange(port, Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{nope'));
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });

  it('adds no id to a line written outside any request', () => {
    logger.info('between requests');
    expect(lines).toEqual([expect.not.objectContaining({ request_id: expect.anything() })]);
  });
});

describe("a signal job's request id", () => {
  const signal = {
    id: '0f8fe2a4-6bd1-4bde-9a21-2b1b36c4f4a5', kind: 'source', ticker: 'AAPL', side: 'BUY', action: 'buy', time: '2026-01-02T15:00:00.000Z',
    receivedAt: '2026-01-02T15:00:00.000Z', body: { ticker: 'AAPL', side: 'BUY', action: 'buy', time: '2026-01-02T15:00:00.000Z' },
  };

  it('is read from a decision job and from a delivery job, when safe', () => {
    expect(requestIdOfJob({ ...signal, requestId: 'trace-1' })).toBe('trace-1');
    expect(requestIdOfJob({ signal: { ...signal, requestId: 'trace-2' }, basis: 'topn' })).toBe('trace-2');
    expect(requestIdOfJob(signal)).toBeNull();
    expect(requestIdOfJob({ ...signal, requestId: 'x'.repeat(129) })).toBeNull();
    expect(requestIdOfJob({ ...signal, requestId: 'abc\ndef' })).toBeNull();
    expect(requestIdOfJob(null)).toBeNull();
  });

  it("is kept by the job's schema; a job from an older ingest (none) or with an unsafe one still parses, without it", () => {
    expect(SignalJobSchema.parse({ ...signal, requestId: 'trace-3' }).requestId).toBe('trace-3');
    const old = SignalJobSchema.safeParse(signal);
    expect(old.success && old.data.requestId).toBeUndefined();
    for (const unsafe of ['x'.repeat(129), 'abc\u0001def', 42]) {
      const parsed = SignalJobSchema.safeParse({ ...signal, requestId: unsafe });
      expect(parsed.success).toBe(true);
      expect(parsed.data?.requestId).toBeUndefined();
    }
    const forward = ForwardJobSchema.parse({ signal: { ...signal, requestId: 'trace-4' }, basis: 'topn', rank: 1, snapshotId: null });
    expect(forward.signal.requestId).toBe('trace-4');
  });

  it("puts the job's id on the lines written through its jobLogger, and none for a job without one", async () => {
    const { logger, lines } = recordingLogger();
    jobLogger(logger, { ...signal, requestId: 'job-5' }).info('decided');
    jobLogger(logger, { signal: { ...signal, requestId: 'job-6' }, basis: 'topn' }).info('delivered');
    jobLogger(logger, signal).info('old job');
    jobLogger(logger, { ...signal, requestId: 'abc\ndef' }).info('unsafe id');
    await sleep(20);
    expect(lines.map((line) => [line.message, line.request_id])).toEqual([['decided', 'job-5'], ['delivered', 'job-6'], ['old job', undefined], ['unsafe id', undefined]]);
  });
});

describe("a line's own request_id", () => {
  it('is kept when the line names none (request_id: undefined), instead of its request logger\'s', async () => {
    const { logger: base, lines } = recordingLogger();
    const logger = requestLogger(base, 'ambient-request');
    logger.info('about another signal', { request_id: undefined });
    logger.info('about this request');
    logger.info('about a third', { request_id: 'third-request' });
    await sleep(20);
    expect(lines.map((line) => line.request_id)).toEqual([undefined, 'ambient-request', 'third-request']);
  });
});
