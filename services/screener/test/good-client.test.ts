import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet } from '@tsp/core';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import type { RunReport } from '../src/screener-loop';
import { startScreener, type RunningScreener } from '../src/service';
import { fixturePage, fixtureTickers } from './fixtures';

const ADMIN_TOKEN = 'good-client-admin';
const PAGE = 'finviz-screener-v111-2026.html';
const HTML = { 'content-type': 'text/html; charset=utf-8' };
const NOT_A_SCREENER_PAGE = '<!DOCTYPE html><html><head><title>Finviz - Maintenance</title></head><body><p>We will be back shortly.</p></body></html>';

type Answer = { status: number; body?: string; headers?: Record<string, string> };

/** What these tests read of GET /admin/state. */
interface AdminState {
  last_fetch_outcome: RunReport['outcome'] | null;
  next_fetch_at: string | null;
}

/** What these tests read of GET /status, once a fetch has run. */
interface Status {
  topn: { stale: boolean } | null;
  fetch: { last: RunReport };
}

describe('a good client of Finviz', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  const running: { screener: RunningScreener; finviz: LocalServer; prefix: string }[] = [];

  async function start(respond: (index: number) => Answer, env: Record<string, string> = {}) {
    const prefix = uniquePrefix('client');
    const finviz = await startLocalServer((_req, index) => respond(index));
    const screener = await startScreener(
      loadConfig({
        ...process.env, KEY_PREFIX: prefix, SCREENER_PORT: '0', ADMIN_TOKEN, TOP_N: '5',
        FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`, FINVIZ_REFRESH_SEC: '1', FINVIZ_PAGE_DELAY_MS: '0',
        ...env,
      }),
      createLogger('screener', process.env.LOG_LEVEL),
    );
    running.push({ screener, finviz, prefix });
    /** An admin route's answer: /metrics as text, any other as JSON read as the shape the caller names. */
    const call = async <T = unknown>(method: string, path: string): Promise<{ status: number; body: T }> => {
      const response = await fetch(`http://127.0.0.1:${screener.port}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return { status: response.status, body: (path === '/metrics' ? await response.text() : await response.json()) as T };
    };
    return { prefix, finviz, screener, call };
  }

  afterAll(async () => {
    for (const { screener, finviz, prefix } of running) {
      await screener.stop();
      await finviz.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('waits out a 429 Retry-After of 3 s before its next request, even when asked to refresh', async () => {
    const { finviz, call } = await start((index) =>
      index === 1
        ? { status: 429, body: 'Too Many Requests', headers: { ...HTML, 'retry-after': '3' } }
        : { status: 200, body: fixturePage(PAGE), headers: HTML });
    await waitFor(() => finviz.received.length >= 2, 10_000, 'the request answered 429');

    const state = await waitFor(async () => {
      const { body } = await call<AdminState>('get', '/admin/state');
      return body.last_fetch_outcome === 'rate_limited' ? body : null;
    }, 5000, 'the rate-limited state');
    expect(state).toMatchObject({ leader: true, backoff: { backing_off: true, retry_after_until: expect.any(String) } });
    expect(Date.parse(state.next_fetch_at ?? '') - finviz.received[1].at).toBeGreaterThanOrEqual(3000);
    // An admin refresh does not jump the queue while Finviz's Retry-After runs.
    const refresh = await call('post', '/admin/refresh');
    expect(refresh.body).toMatchObject({ outcome: 'deferred' });
    expect(finviz.received).toHaveLength(2);

    await waitFor(() => finviz.received.length >= 3, 10_000, 'the request after the Retry-After');
    expect(finviz.received[2].at - finviz.received[1].at).toBeGreaterThanOrEqual(3000);
    const metrics = (await call<string>('get', '/metrics')).body;
    expect(metrics).toMatch(/tsp_screener_fetches_total\{outcome="rate_limited"[^}]*\} 1\b/);
    expect(metrics).toMatch(/tsp_screener_fetches_total\{outcome="ok"[^}]*\} [2-9]/);
  });

  it('keeps the last set on a page without a results table, and lets it go stale after TOPN_MAX_AGE_SEC', async () => {
    let broken = false;
    const { prefix, call } = await start(() => ({ status: 200, body: broken ? NOT_A_SCREENER_PAGE : fixturePage(PAGE), headers: HTML }), {
      TOPN_MAX_AGE_SEC: '2',
    });
    const first = await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the first set');
    expect(first.tickers).toEqual(fixtureTickers()[PAGE].slice(0, 5));
    broken = true;

    const stale = await waitFor(async () => {
      const { body } = await call<Status>('get', '/status');
      return body.topn?.stale ? body : null;
    }, 8000, 'the set to go stale');
    expect(stale.fetch.last).toMatchObject({ outcome: 'unrecognised_page', published: false });
    expect(stale.fetch.last.error).toMatch(/no screener results on the page: neither a results table/);
    // Never an empty Top-N: the same set, not refreshed, aging.
    expect(await readTopnSet(redis, prefix)).toEqual(first);
    expect(stale.topn).toMatchObject({ snapshot_id: first.snapshot_id, count: 5 });
    expect((await call('get', '/metrics')).body).toMatch(/tsp_screener_fetches_total\{outcome="unrecognised_page"[^}]*\} [1-9]/);
  });
});
