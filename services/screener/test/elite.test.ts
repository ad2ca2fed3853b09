/**
 * Finviz Elite through a local stand-in that demands a login (form POST, session cookie) before
 * it serves the CSV export, expires sessions, or takes an API token.
 */
import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet } from '@tsp/core';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer, type ReceivedRequest } from '../../../test/support/helpers';
import type { RunReport } from '../src/screener-loop';
import { startScreener } from '../src/service';
import { parseExportCsv } from '../src/finviz/export-csv';

const EMAIL = 'trader@example.com';
const PASSWORD = 'pa$$w0rd-never-logged';
const TOKEN = 'elite-api-token-never-logged';
const ADMIN_TOKEN = 'elite-admin';
const TICKERS = ['NVDA', 'BRK-B', 'AMD', 'TSLA', 'PLTR', 'SMCI', 'AAPL'];
const SCREENER_QUERY = 'v=111&f=cap_midover,ta_perf_dup&o=-change';

const csv = (tickers: string[]) =>
  ['"No.","Ticker","Company","Sector","Industry","Country","Market Cap","P/E","Price","Change","Volume"']
    .concat(tickers.map((ticker, i) => `"${i + 1}","${ticker}","${ticker} Inc, ""Class A""","Technology","Semiconductors","USA","100.5","30.1","10.5","5.01%","1000"`))
    .join('\r\n');

/** The stand-in: finviz.com's login form and elite.finviz.com's export, on one local server. */
class EliteStandIn {
  server!: LocalServer;
  sessions = new Set<string>();
  private issued = 0;
  tickers = TICKERS;

  async start(): Promise<this> {
    this.server = await startLocalServer((req) => this.answer(req));
    return this;
  }

  private answer(req: ReceivedRequest) {
    const url = new URL(req.url, 'http://stand-in');
    if (req.method === 'POST' && url.pathname === '/login_submit.ashx') {
      const form = new URLSearchParams(req.body);
      if (form.get('email') !== EMAIL || form.get('password') !== PASSWORD || form.get('remember') !== '1') {
        return { status: 302, headers: { location: '/login.ashx?error=1' } };
      }
      const session = `session-${(this.issued += 1)}`;
      this.sessions.add(session);
      return { status: 302, headers: { location: '/', 'set-cookie': `.ASPXAUTH=${session}; path=/; HttpOnly` } as Record<string, string> };
    }
    if (req.method === 'GET' && url.pathname === '/export.ashx') {
      const cookie = /\.ASPXAUTH=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
      const authorised = url.searchParams.get('auth') === TOKEN || (cookie !== undefined && this.sessions.has(cookie));
      if (!authorised) return { status: 302, headers: { location: '/login.ashx' } };
      return { status: 200, body: csv(this.tickers), headers: { 'content-type': 'application/octet-stream' } };
    }
    return { status: 404, body: 'not found' };
  }

  requests(method: string, pathname: string) {
    return this.server.received.filter((req) => req.method === method && new URL(req.url, 'http://stand-in').pathname === pathname);
  }
}

/** What these tests read of GET /admin/state, once a fetch has run. */
interface AdminState {
  last_fetch_outcome: RunReport['outcome'] | null;
  last: RunReport;
}

describe('Finviz Elite', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  const cleanups: (() => Promise<void>)[] = [];
  const logLines: string[] = [];
  // Every line the screener logs, at the most talkative level, kept instead of printed.
  const logger = createLogger('screener', 'debug');
  for (const transport of logger.transports) transport.silent = true;
  logger.on('data', (info: unknown) => logLines.push(JSON.stringify(info)));

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    redis.disconnect();
  });

  async function start(env: Record<string, string>) {
    const standIn = await new EliteStandIn().start();
    const prefix = uniquePrefix('elite');
    const screener = await startScreener(
      loadConfig({
        ...process.env, KEY_PREFIX: prefix, SCREENER_PORT: '0', ADMIN_TOKEN, TOP_N: '5', FINVIZ_REFRESH_SEC: '3600', FINVIZ_PAGE_DELAY_MS: '0',
        FINVIZ_URL: `https://elite.finviz.com/screener.ashx?${SCREENER_QUERY}`,
        FINVIZ_USE_ELITE: 'true',
        FINVIZ_LOGIN_URL: `${standIn.server.url}/login_submit.ashx`,
        FINVIZ_EXPORT_URL: `${standIn.server.url}/export.ashx`,
        ...env,
      }),
      logger,
    );
    cleanups.push(async () => {
      await screener.stop();
      await standIn.server.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    });
    /** An admin route's answer: /metrics as text, any other as JSON read as the shape the caller names. */
    const call = async <T = unknown>(method: string, path: string): Promise<T> => {
      const response = await fetch(`http://127.0.0.1:${screener.port}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return (path === '/metrics' ? response.text() : response.json()) as Promise<T>;
    };
    return { standIn, prefix, screener, call };
  }

  it('logs in with email and password, keeps the cookie, and reads the CSV export without its header row', async () => {
    const { standIn, prefix, call } = await start({ FINVIZ_EMAIL: EMAIL, FINVIZ_PASSWORD: PASSWORD });
    const set = await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the Top-N set');
    expect(set.tickers).toEqual(TICKERS.slice(0, 5));
    expect(set.source).toBe(new URL(standIn.server.url).host);

    const [login] = standIn.requests('POST', '/login_submit.ashx');
    expect(Object.fromEntries(new URLSearchParams(login.body))).toEqual({ email: EMAIL, password: PASSWORD, remember: '1' });
    expect(login.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const exported = standIn.requests('GET', '/export.ashx');
    // The screener URL's filters and order, on the export endpoint.
    expect(exported.at(-1)!.url).toBe(`/export.ashx?${SCREENER_QUERY}`);
    expect(exported.at(-1)!.headers.cookie).toBe('.ASPXAUTH=session-1');
    expect(exported.at(-1)!.headers['user-agent']).toMatch(/Mozilla/);

    // The cookie is kept: a second read does not log in again.
    expect(await call('post', '/admin/refresh')).toMatchObject({ outcome: 'ok' });
    expect(standIn.requests('POST', '/login_submit.ashx')).toHaveLength(1);
    expect(await call('get', '/metrics')).toMatch(/tsp_screener_logins_total\{outcome="ok"[^}]*\} 1\b/);
  });

  it('logs in again when the session has expired', async () => {
    const { standIn, prefix, call } = await start({ FINVIZ_EMAIL: EMAIL, FINVIZ_PASSWORD: PASSWORD });
    await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the Top-N set');
    standIn.sessions.clear();
    standIn.tickers = ['META', ...TICKERS];

    expect(await call('post', '/admin/refresh')).toMatchObject({ outcome: 'ok', changed: true });
    expect((await readTopnSet(redis, prefix))!.tickers).toEqual(['META', ...TICKERS.slice(0, 4)]);
    expect(standIn.requests('POST', '/login_submit.ashx')).toHaveLength(2);
    expect(standIn.requests('GET', '/export.ashx').at(-1)!.headers.cookie).toBe('.ASPXAUTH=session-2');
  });

  it('uses FINVIZ_AUTH_TOKEN as auth= without logging in', async () => {
    const { standIn, prefix } = await start({ FINVIZ_AUTH_TOKEN: TOKEN });
    const set = await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the Top-N set');
    expect(set.tickers).toEqual(TICKERS.slice(0, 5));
    expect(standIn.requests('POST', '/login_submit.ashx')).toHaveLength(0);
    expect(standIn.requests('GET', '/export.ashx')[0].url).toBe(`/export.ashx?${SCREENER_QUERY}&auth=${TOKEN}`);
  });

  it('reports a refused login as auth_error, publishes nothing, and backs off', async () => {
    const { standIn, prefix, call } = await start({ FINVIZ_EMAIL: EMAIL, FINVIZ_PASSWORD: 'wrong-password' });
    const state = await waitFor(async () => {
      const body = await call<AdminState>('get', '/admin/state');
      return body.last_fetch_outcome ? body : null;
    }, 10_000, 'the first fetch');
    expect(state).toMatchObject({ last_fetch_outcome: 'auth_error', mode: 'elite_login', backoff: { backing_off: true } });
    expect(state.last.error).toMatch(/login was refused/);
    expect(await readTopnSet(redis, prefix)).toBeNull();
    expect(standIn.requests('GET', '/export.ashx')).toHaveLength(0);
    const metrics = await call<string>('get', '/metrics');
    expect(metrics).toMatch(/tsp_screener_logins_total\{outcome="failed"[^}]*\} 1\b/);
    expect(metrics).toMatch(/tsp_screener_fetches_total\{outcome="auth_error"[^}]*\} 1\b/);
  });

  it('never logs the password, the token or the session cookie', () => {
    const logs = logLines.join('\n');
    expect(logs).toContain('logged in to Finviz Elite');
    for (const secret of [PASSWORD, TOKEN, 'session-1', 'session-2', 'wrong-password']) expect(logs).not.toContain(secret);
  });
});

describe('reading the export CSV', () => {
  it('skips the header row and reads quoted fields', () => {
    expect(parseExportCsv(csv(['AAPL', 'BRK-B']))).toEqual(['AAPL', 'BRK-B']);
    expect(parseExportCsv('\uFEFF"No.","Ticker"\n"1","msft"\n')).toEqual(['MSFT']);
  });

  it('refuses a body that is not the screener CSV', () => {
    expect(() => parseExportCsv('<html><body>Please log in</body></html>')).toThrow(/not a screener CSV/);
    expect(() => parseExportCsv('"No.","Ticker"\n"1",""\n')).toThrow(/no readable ticker/);
  });

  it('writes BRK.B as BRK-B and refuses what the ticker rule refuses', () => {
    expect(parseExportCsv('"No.","Ticker"\n"1","BRK.B"\n"2","brk/a"\n')).toEqual(['BRK-B', 'BRK-A']);
    expect(() => parseExportCsv('"No.","Ticker"\n"1","BRK.B.C"\n')).toThrow(/row 1 .*more than one class suffix/);
    expect(() => parseExportCsv('"No.","Ticker"\n"1","{{ticker}}"\n')).toThrow(/row 1 .*template/);
  });
});
