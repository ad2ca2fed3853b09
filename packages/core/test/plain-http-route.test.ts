import net from 'node:net';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import winston from 'winston';
import { Registry } from 'prom-client';
import express, { type Express } from 'express';
import { closeServer, createServiceApp, errorResponse, listen, type Route } from '../src';
import { rawExchange } from '../../../test/support/helpers';
import { assertPlainlyServable } from '../src/plain-route-server';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g;
const LIMIT_BYTES = 1024;

/** A logger whose JSON lines are kept in `lines`. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  return { logger, lines };
}

/** A webhook-like route: rawText with a limit, JSON or text/plain, a parser, a guard that reads the client address. */
function routes(plainHttp: boolean): Route[] {
  const docs = { summary: 'test', ok: { status: 202, description: 'taken' }, errors: {} };
  const parse = (raw: string) => {
    try {
      return { ok: true as const, value: JSON.parse(raw) as unknown };
    } catch {
      return { ok: false as const, response: errorResponse(400, 'invalid_json', 'Body is not JSON') };
    }
  };
  const body = 'rawText' as const;
  return [{
    method: 'post', path: '/in', body, limit: '1kb', accepts: ['application/json', 'text/plain'], parse, plainHttp, docs,
    guards: [{ accepts: ['senderAddress'], check: (req) => (req.ip === '203.0.113.9' ? errorResponse(403, 'forbidden', `Address ${req.ip} refused`) : null) }],
    handler: (req) => {
      const got = req.body as { status?: number; retry?: boolean };
      return { status: got.status ?? 202, body: { got, ip: req.ip, query: { ...req.query }, method: req.method }, headers: got.retry ? { 'Retry-After': '5' } : undefined };
    },
  }, {
    method: 'post', path: '/boom', body, plainHttp, docs, handler: () => { throw new Error('boom'); },
  }, {
    // A content type of its own: what a plainHttp route may not answer.
    method: 'post', path: '/typed', body, plainHttp, docs, handler: () => ({ status: 200, body: { ok: true }, headers: { 'Content-Type': 'text/csv', 'X-Extra': '1' } }),
  }];
}

interface Served { app: Express; server: http.Server; port: number; lines: Record<string, unknown>[]; handledByExpress: jest.SpyInstance }

async function serve(plainHttp: boolean): Promise<Served> {
  const { logger, lines } = recordingLogger();
  const app = createServiceApp({
    service: 'test', about: 'a test service', logger, routes: routes(plainHttp), readiness: {}, status: async () => ({}), metrics: new Registry(),
    trustProxy: { hops: 1 },
  });
  // Every request express serves goes through app.handle: the plain path must not.
  const handledByExpress = jest.spyOn(app as unknown as { handle: () => void }, 'handle');
  const server = await listen(app, 0);
  return { app, server, port: (server.address() as { port: number }).port, lines, handledByExpress };
}

/** An answer with what changes from one request to the next (its date, a fresh id) made alike. */
const comparable = (answer: string) => answer.replace(/^Date: .*$/m, 'Date: (now)').replace(UUID, '(fresh id)');

function post(path: string, body: Buffer | string, headers: Record<string, string | number> = {}): Buffer {
  const all = { Host: 'x', Connection: 'close', 'Content-Length': Buffer.byteLength(body), ...headers };
  const head = `POST ${path} HTTP/1.1\r\n${Object.entries(all).filter(([, value]) => value !== '').map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]);
}

/** A chunked body (no Content-Length), as a client streaming its body sends it. */
function chunked(path: string, body: string, headers: Record<string, string> = {}): Buffer {
  const chunks = body.match(/[^]{1,300}/g) ?? [];
  const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n${Object.entries(headers).map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.from(head + chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('') + '0\r\n\r\n', 'latin1');
}

const json = JSON.stringify({ ticker: 'AAPL', side: 'buy' });
const big = JSON.stringify({ pad: 'x'.repeat(LIMIT_BYTES) });

describe('a plainHttp route', () => {
  let plain: Served;
  let viaExpress: Served;

  beforeAll(async () => {
    [plain, viaExpress] = await Promise.all([serve(true), serve(false)]);
  });
  afterAll(() => Promise.all([closeServer(plain.server), closeServer(viaExpress.server)]));
  beforeEach(() => {
    for (const served of [plain, viaExpress]) {
      served.lines.length = 0;
      served.handledByExpress.mockClear();
    }
  });

  /** The same request to both servers: the plain one's answer, after checking it is byte for byte express's. */
  async function sameAnswer(request: Buffer): Promise<string> {
    const [fast, express] = await Promise.all([rawExchange(plain.port, request), rawExchange(viaExpress.port, request)]);
    expect(comparable(fast)).toBe(comparable(express));
    return fast;
  }

  it.each([
    ['a JSON signal', post('/in', json, { 'Content-Type': 'application/json' })],
    ['JSON sent as text/plain', post('/in', json, { 'Content-Type': 'text/plain' })],
    ['a type with charset=UTF-8 and capitals', post('/in', json, { 'Content-Type': 'Application/JSON; charset=UTF-8' })],
    ['a type with another parameter', post('/in', json, { 'Content-Type': 'text/plain; format=flowed' })],
    ['a query string', post('/in?a=1&b=two&a=3', json, { 'Content-Type': 'application/json' })],
    ['an empty query string', post('/in?', json, { 'Content-Type': 'application/json' })],
    ['a chunked body', chunked('/in', json, { 'Content-Type': 'application/json' })],
    ['a body that is not JSON (the route parser\'s 400)', post('/in', '{nope', { 'Content-Type': 'application/json' })],
    ['an empty body (Content-Length: 0)', post('/in', '', { 'Content-Type': 'application/json' })],
    ['a status and a header of the handler\'s', post('/in', JSON.stringify({ status: 503, retry: true }), { 'Content-Type': 'application/json' })],
    ['a body over the limit, by Content-Length', post('/in', big, { 'Content-Type': 'application/json' })],
    ['a body over the limit, chunked', chunked('/in', big, { 'Content-Type': 'application/json' })],
    ['a safe X-Request-Id (echoed)', post('/in', json, { 'Content-Type': 'application/json', 'X-Request-Id': 'trace-42' })],
    ['an unsafe X-Request-Id (replaced)', post('/in', json, { 'Content-Type': 'application/json', 'X-Request-Id': 'abc def' })],
    ['a client behind the trusted proxy', post('/in', json, { 'Content-Type': 'application/json', 'X-Forwarded-For': '198.51.100.7, 192.0.2.1' })],
    ['a client the guard refuses', post('/in', json, { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.9' })],
  ])('answers %s as express does, without express', async (_what, request) => {
    const answer = await sameAnswer(request);
    expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(answer).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    expect(plain.handledByExpress).not.toHaveBeenCalled();
    expect(viaExpress.handledByExpress).toHaveBeenCalledTimes(1);
  });

  it('keeps a safe request id and replaces an unsafe one by a fresh one', async () => {
    const kept = await rawExchange(plain.port, post('/in', json, { 'Content-Type': 'application/json', 'X-Request-Id': 'trace-42' }));
    expect(kept).toMatch(/\r\nX-Request-Id: trace-42\r\n/);
    const replaced = await rawExchange(plain.port, post('/in', json, { 'Content-Type': 'application/json', 'X-Request-Id': 'abc def' }));
    expect(replaced).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
    expect(replaced).not.toContain('abc def');
  });

  it('answers 413 with the limit and the query and client address as express makes them', async () => {
    const tooBig = await rawExchange(plain.port, post('/in', big, { 'Content-Type': 'application/json' }));
    expect(tooBig).toMatch(/^HTTP\/1\.1 413 /);
    expect(tooBig).toContain(`"message":"Body exceeds the limit of ${LIMIT_BYTES} bytes"`);
    const queried = await rawExchange(plain.port, post('/in?a=1&a=2', json, { 'Content-Type': 'text/plain', 'X-Forwarded-For': '198.51.100.7' }));
    expect(queried).toContain('"ip":"198.51.100.7","query":{"a":["1","2"]}');
  });

  it.each([
    ['another content type (415)', post('/in', json, { 'Content-Type': 'text/html' })],
    ['no content type (415)', post('/in', json, { 'Content-Type': '' })],
    ['a charset other than UTF-8 (express decodes it)', post('/in', Buffer.from('{"name":"caf\xe9"}', 'latin1'), { 'Content-Type': 'application/json; charset=latin1' })],
    ['a gzip-compressed body (express inflates it)', post('/in', gzipSync(json), { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' })],
    ['an unknown Content-Encoding', post('/in', json, { 'Content-Type': 'application/json', 'Content-Encoding': 'snappy' })],
    ['a trailing slash', post('/in/', json, { 'Content-Type': 'application/json' })],
    ['another case of the path', post('/IN', json, { 'Content-Type': 'application/json' })],
    ['a path with a hash character', post('/in?x=#y', json, { 'Content-Type': 'application/json' })],
    ['no body at all', Buffer.from('POST /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n')],
    ['another method', Buffer.from('PUT /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')],
    ['OPTIONS', Buffer.from('OPTIONS /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')],
    ['HEAD', Buffer.from('HEAD /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')],
  ])('hands %s to express untouched', async (_what, request) => {
    await sameAnswer(request);
    expect(plain.handledByExpress).toHaveBeenCalledTimes(1);
  });

  it('answers a failing handler 500 and logs it with the request id, as express does', async () => {
    const request = post('/boom', json, { 'Content-Type': 'application/json', 'X-Request-Id': 'boom-1' });
    const answer = await sameAnswer(request);
    expect(answer).toMatch(/^HTTP\/1\.1 500 /);
    const logged = (lines: Record<string, unknown>[]) => lines.map(({ level, message, request_id: id, error }) => ({ level, message, id, error: String(error).split('\n')[0] }));
    expect(logged(plain.lines)).toEqual([{ level: 'error', message: 'request failed', id: 'boom-1', error: 'Error: boom' }]);
    expect(logged(plain.lines)).toEqual(logged(viaExpress.lines));
    expect(plain.handledByExpress).not.toHaveBeenCalled();
  });

  it('answers 500, with none of the failed answer\'s headers, when a handler answers what the plain path cannot send', async () => {
    const answer = await rawExchange(plain.port, post('/typed', json, { 'Content-Type': 'application/json', 'X-Request-Id': 'typed-1' }));
    expect(answer).toMatch(/^HTTP\/1\.1 500 /);
    expect(answer).toMatch(/^X-Request-Id: typed-1\r$/m);
    expect(answer).not.toMatch(/X-Extra|text\/csv/i);
    expect(plain.lines).toEqual([expect.objectContaining({ level: 'error', message: 'request failed', request_id: 'typed-1' })]);
  });

  it('follows a trust proxy setting changed after the app was made, as express does', async () => {
    // The guard refuses 203.0.113.9: named by X-Forwarded-For, it is the client only while one hop is trusted.
    const request = post('/in', json, { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.9' });
    expect(await sameAnswer(request)).toMatch(/^HTTP\/1\.1 403 /);
    for (const served of [plain, viaExpress]) served.app.set('trust proxy', false);
    try {
      expect(await sameAnswer(request)).toMatch(/^HTTP\/1\.1 202 /);
    } finally {
      for (const served of [plain, viaExpress]) served.app.set('trust proxy', 1);
    }
  });

  it('serves several requests on one kept-alive connection, a refused body among them', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string, type = 'application/json') => new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
      const req = http.request({ port: plain.port, host: '127.0.0.1', path: '/in', method: 'POST', agent, headers: { 'Content-Type': type } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end(body);
    });
    try {
      const answers = [];
      for (const [body, type] of [[json], [big], ['{nope'], [json, 'text/html'], [json, 'text/plain'], [json]]) answers.push(await send(body, type));
      expect(answers.map((answer) => answer.status)).toEqual([202, 413, 400, 415, 202, 202]);
      expect(answers.slice(1).every((answer) => answer.reused)).toBe(true);
      expect(JSON.parse(answers[5].body).got).toEqual(JSON.parse(json));
    } finally {
      agent.destroy();
    }
  });

  it('reads a body over the limit off to its end before answering 413, as body-parser does', async () => {
    /** What the server answered while half the body was sent, and in all. */
    const answersOf = async (port: number) => {
      const socket = net.connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => { answer += chunk.toString('latin1'); });
      const ended = new Promise((resolve, reject) => { socket.on('end', resolve); socket.on('error', reject); });
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`POST /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n${'x'.repeat(2000)}`);
      await sleep(100);
      const early = answer;
      socket.end('x'.repeat(2000));
      await ended;
      return { early, answer };
    };
    const [fast, express] = await Promise.all([answersOf(plain.port), answersOf(viaExpress.port)]);
    expect([fast.early, express.early]).toEqual(['', '']);
    expect(plain.handledByExpress).not.toHaveBeenCalled();
    expect(comparable(fast.answer)).toBe(comparable(express.answer));
    expect(fast.answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('survives a client that sends half a body and goes away, and serves the next one', async () => {
    for (const head of [
      `POST /in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"ticker":`,
      `POST /in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"tic`,
      `POST /in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(2000)}`,
    ]) {
      const socket = net.connect(plain.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(head);
      await sleep(30);
      socket.destroy();
    }
    await sleep(50);
    expect(await rawExchange(plain.port, post('/in', json, { 'Content-Type': 'application/json' }))).toMatch(/^HTTP\/1\.1 202 /);
    expect(plain.lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});

describe('a route marked plainHttp that cannot be served plainly', () => {
  const { logger } = recordingLogger();
  const docs = { summary: 'test', ok: { status: 200, description: 'ok' }, errors: {} };
  const handler = () => ({ status: 200, body: {} });
  const app = (routes: Route[]) => () => createServiceApp({ service: 'test', about: 'a test service', logger, routes, readiness: {}, status: async () => ({}), metrics: new Registry() });

  it.each<[string, Route[], RegExp]>([
    ['a JSON body', [{ method: 'post', path: '/in', plainHttp: true, handler, docs }], /POST \/in is marked plainHttp but cannot be served plainly: its body is "json"/],
    ['no body', [{ method: 'post', path: '/in', body: 'none', plainHttp: true, handler, docs }], /its body is "none"/],
    ['path parameters', [{ method: 'post', path: '/in/:id', body: 'rawText', plainHttp: true, handler, docs }], /POST \/in\/:id .* parameters/],
    ['a wildcard path', [{ method: 'post', path: '/in/*rest', body: 'rawText', plainHttp: true, handler, docs }], /parameters or pattern/],
    ['a GET', [{ method: 'get', path: '/in', body: 'rawText', plainHttp: true, handler, docs }], /GET/],
    ['a shorthand media type', [{ method: 'post', path: '/in', body: 'rawText', accepts: ['json'], plainHttp: true, handler, docs }], /accepts has json/],
    ['an earlier route that matches it', [
      { method: 'post', path: '/:anything', body: 'none', handler, docs },
      { method: 'post', path: '/in', body: 'rawText', plainHttp: true, handler, docs },
    ], /an earlier route of the table matches/],
  ])('is refused when the app is created: %s', (_what, routes, message) => {
    expect(app(routes)).toThrow(message);
  });

  it('is refused when a middleware the plain path would skip runs before it', () => {
    const before = express();
    const skipped = (_req: unknown, _res: unknown, next: () => void) => next();
    const mirrored = (_req: unknown, _res: unknown, next: () => void) => next();
    before.use(mirrored);
    before.use(skipped);
    const route: Route = { method: 'post', path: '/in', body: 'rawText', plainHttp: true, handler, docs };
    const registered = before.route('/in').post(() => undefined);
    expect(() => assertPlainlyServable(route, before, registered, [mirrored])).toThrow(/a middleware runs before it that the plain path would skip/);
    const clean = express();
    clean.use(mirrored);
    expect(() => assertPlainlyServable(route, clean, clean.route('/in').post(() => undefined), [mirrored])).not.toThrow();
  });

  it('is taken when a later route would match it too (express picks the first)', () => {
    expect(app([
      { method: 'post', path: '/in', body: 'rawText', plainHttp: true, handler, docs },
      { method: 'post', path: '/:anything', body: 'none', handler, docs },
    ])).not.toThrow();
  });
});
