import { createServer, type AddressInfo, type Socket } from 'node:net';
import { startLocalServer, type LocalServer } from '../../../test/support/helpers';
import { parseRetryAfterMs as parseRetryAfter } from '@tsp/core';
import { fetchScreenerPage } from '../src/finviz/html-scraper';
import {
  ScreenerBlockedError, ScreenerHttpError, ScreenerNetworkError, ScreenerRateLimitedError, ScreenerServerError,
  UnrecognisedPageError,
} from '../src/finviz/screener-errors';
import { CHALLENGE_PAGE, fixturePage, fixtureTickers, TOO_MANY_REQUESTS_PAGE } from './fixtures';

const HTML = { 'content-type': 'text/html; charset=utf-8' };

describe('fetching a screener page', () => {
  let answer: { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };
  let server: LocalServer;

  beforeAll(async () => {
    server = await startLocalServer(() => answer);
  });
  afterAll(() => server.close());

  const fetchPage = (timeoutMs = 5000) => fetchScreenerPage(`${server.url}/screener?v=111&o=-change`, { timeoutMs });

  it('reads the tickers of a served page, asking like a browser', async () => {
    answer = { status: 200, body: fixturePage('finviz-screener-v111-2026.html'), headers: HTML };
    const page = await fetchPage();
    expect(page.tickers).toEqual(fixtureTickers()['finviz-screener-v111-2026.html']);
    expect(server.received.at(-1)?.headers['user-agent']).toMatch(/Mozilla\/5\.0 .*Chrome/);
  });

  it('reports a Cloudflare challenge (403, cf-mitigated: challenge) as blocked', async () => {
    answer = { status: 403, body: CHALLENGE_PAGE, headers: { ...HTML, 'cf-mitigated': 'challenge' } };
    const error = await fetchPage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScreenerBlockedError);
    expect(error).toMatchObject({ outcome: 'blocked', challenge: true, backOff: true });
  });

  it('reports a plain 403 as blocked', async () => {
    answer = { status: 403, body: 'Forbidden', headers: HTML };
    await expect(fetchPage()).rejects.toMatchObject({ outcome: 'blocked', status: 403, challenge: false });
  });

  it('reports a 429 as rate limited with the Retry-After it asked for', async () => {
    answer = { status: 429, body: TOO_MANY_REQUESTS_PAGE, headers: { ...HTML, 'retry-after': '120' } };
    const error = await fetchPage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScreenerRateLimitedError);
    expect(error).toMatchObject({ outcome: 'rate_limited', retryAfterMs: 120_000 });
  });

  it('reports a "Too Many Requests" page served with HTTP 200 as rate limited', async () => {
    answer = { status: 200, body: TOO_MANY_REQUESTS_PAGE, headers: HTML };
    await expect(fetchPage()).rejects.toBeInstanceOf(ScreenerRateLimitedError);
  });

  it('reports a challenge page served with HTTP 200 as blocked', async () => {
    answer = { status: 200, body: CHALLENGE_PAGE, headers: HTML };
    await expect(fetchPage()).rejects.toBeInstanceOf(ScreenerBlockedError);
  });

  it('reports a 5xx as a server error', async () => {
    answer = { status: 503, body: 'unavailable', headers: { ...HTML, 'retry-after': '7' } };
    const error = await fetchPage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScreenerServerError);
    expect(error).toMatchObject({ outcome: 'server_error', status: 503, retryAfterMs: 7000 });
  });

  it('reports another 4xx as an HTTP error that does not call for backing off', async () => {
    answer = { status: 404, body: 'not found', headers: HTML };
    await expect(fetchPage()).rejects.toMatchObject({ outcome: 'http_error', status: 404, backOff: false });
    await expect(fetchPage()).rejects.toBeInstanceOf(ScreenerHttpError);
  });

  it('reports a page it cannot read as unrecognised', async () => {
    answer = { status: 200, body: '<html><head><title>Login</title></head><body>Sign in</body></html>', headers: HTML };
    await expect(fetchPage()).rejects.toBeInstanceOf(UnrecognisedPageError);
  });

  it('follows a redirect on the same host, but never to a host outside FINVIZ_ALLOWED_HOSTS', async () => {
    answer = { status: 301, headers: { location: '/screener?v=111&o=-change&moved=1' } };
    const redirected = startLocalServer((req) =>
      req.url.includes('moved=1') ? { status: 200, body: fixturePage('finviz-screener-v111-2026.html'), headers: HTML } : answer);
    const local = await redirected;
    try {
      const page = await fetchScreenerPage(`${local.url}/screener.ashx?v=111`, { timeoutMs: 5000 });
      expect(page.tickers).toEqual(fixtureTickers()['finviz-screener-v111-2026.html']);
      // "localhost:port" is another host than "127.0.0.1:port", and not allowed.
      answer = { status: 302, headers: { location: `http://localhost:${local.port}/latest/meta-data/?moved=1` } };
      const error = await fetchScreenerPage(`${local.url}/screener.ashx?v=111`, { timeoutMs: 5000, allowedHosts: ['finviz.com'] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScreenerHttpError);
      expect((error as Error).message).toMatch(/not in FINVIZ_ALLOWED_HOSTS/);
      expect(local.received.filter((req) => req.headers.host?.startsWith('localhost'))).toHaveLength(0);
    } finally {
      await local.close();
    }
  });

  it('reports a server that never answers as a network error (timeout)', async () => {
    // A socket that accepts and stays silent, like a hung Finviz.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      await expect(fetchScreenerPage(`http://127.0.0.1:${port}/screener`, { timeoutMs: 100 })).rejects.toMatchObject({ outcome: 'network_error' });
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reports a refused connection as a network error', async () => {
    const gone = await startLocalServer();
    await gone.close();
    await expect(fetchScreenerPage(`${gone.url}/screener`, { timeoutMs: 2000 })).rejects.toBeInstanceOf(ScreenerNetworkError);
  });
});

describe('reading Retry-After', () => {
  it('reads delay-seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
