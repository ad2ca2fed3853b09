import { createLogger, type TopnSet } from '@tsp/core';
import { ScreenerLoop, type ScreenerLoopOptions } from '../src/screener-loop';
import { ScreenerNetworkError, ScreenerRateLimitedError, ScreenerServerError } from '../src/finviz/screener-errors';
import type { TopnScrape } from '../src/finviz/scraper';

const logger = createLogger('screener', 'error');
const REFRESH_SEC = 600;

function set(tickers: string[]): TopnSet {
  return { tickers, top_n: 3, fetched_at: new Date().toISOString(), snapshot_id: 'snap', source: 'test' };
}

function loop(scrape: ScreenerLoopOptions['scrape'], overrides: Partial<ScreenerLoopOptions> = {}) {
  const published: string[][] = [];
  const outcomes: string[] = [];
  const instance = new ScreenerLoop({
    settings: () => ({ url: 'https://finviz.com/screener?v=111', topN: 3, refreshSec: REFRESH_SEC }),
    scrape,
    publish: async (tickers) => {
      published.push(tickers);
      return { set: set(tickers), changed: true };
    },
    logger,
    onFetch: (outcome) => outcomes.push(outcome),
    random: () => 0,
    ...overrides,
  });
  return { instance, published, outcomes };
}

const page = (tickers: string[]): TopnScrape => ({ tickers, total: tickers.length, source: 'finviz.com', truncated: false, duplicatesDropped: 0, pages: 1 });
const secondsUntil = (iso: string | null) => (Date.parse(iso!) - Date.now()) / 1000;
async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the screener loop', () => {
  it('never runs two passes at once, however often a refresh is asked for', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { instance } = loop(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return page(['A', 'B', 'C']);
    });
    await Promise.all([instance.refreshNow(), instance.refreshNow(), instance.refreshNow()]);
    await instance.stop();
    expect(maxInFlight).toBe(1);
  });

  it('publishes nothing and counts the outcome when the fetch fails', async () => {
    const { instance, published, outcomes } = loop(async () => {
      throw new ScreenerNetworkError('refused', 'ECONNREFUSED');
    });
    const report = await instance.refreshNow();
    await instance.stop();
    expect(report).toMatchObject({ outcome: 'network_error', published: false });
    expect(published).toHaveLength(0);
    expect(outcomes).toEqual(['network_error']);
  });

  it('waits out a Retry-After longer than the refresh period', async () => {
    const { instance } = loop(async () => {
      throw new ScreenerRateLimitedError('HTTP 429', 3600_000);
    });
    await instance.refreshNow();
    const next = instance.status().next_fetch_at;
    await instance.stop();
    expect(secondsUntil(next)).toBeGreaterThan(3000);
  });

  it('backs off further on each consecutive server error, never below the refresh period', async () => {
    const { instance } = loop(
      async () => {
        throw new ScreenerServerError('HTTP 502', 502, null);
      },
      { settings: () => ({ url: 'https://finviz.com/screener?v=111', topN: 3, refreshSec: 10 }) },
    );
    const waits: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      await instance.refreshNow();
      waits.push(secondsUntil(instance.status().next_fetch_at));
    }
    await instance.stop();
    expect(waits[0]).toBeGreaterThan(9);
    expect(waits[1]).toBeGreaterThan(waits[0]);
    expect(waits[2]).toBeGreaterThan(waits[1]);
    expect(instance.status()).toMatchObject({ consecutive_failures: 3 });
  });

  it('returns to the normal pace after a good fetch', async () => {
    let fail = true;
    const { instance } = loop(async () => {
      if (fail) throw new ScreenerServerError('HTTP 503', 503, null);
      return page(['A']);
    });
    await instance.refreshNow();
    await instance.refreshNow();
    fail = false;
    await instance.refreshNow();
    const next = instance.status().next_fetch_at;
    await instance.stop();
    expect(secondsUntil(next)).toBeLessThanOrEqual(REFRESH_SEC);
    expect(instance.status()).toMatchObject({ consecutive_failures: 0, backing_off: false });
  });

  it('reports a publish failure without counting it as a failed fetch', async () => {
    const { instance, outcomes } = loop(async () => page(['A']), {
      publish: async () => {
        throw new Error('Stream isn\'t writeable');
      },
    });
    const report = await instance.refreshNow();
    await instance.stop();
    expect(report).toMatchObject({ outcome: 'ok', published: false, error: expect.stringContaining('could not publish') });
    expect(outcomes).toEqual(['ok']);
  });

  it('publishes nothing while no URL is configured', async () => {
    const scrape = jest.fn(async () => page(['A']));
    const { instance } = loop(scrape, { settings: () => ({ url: null, topN: 3, refreshSec: REFRESH_SEC }) });
    const report = await instance.refreshNow();
    await instance.stop();
    expect(report).toMatchObject({ outcome: 'not_configured', published: false });
    expect(scrape).not.toHaveBeenCalled();
  });
  it('idles while another replica leads, and fetches once woken as leader, not before the time it is given', async () => {
    let leader = false;
    const scrape = jest.fn(async () => page(['A']));
    const { instance } = loop(scrape, { isLeader: () => leader, minGapMs: 0 });
    expect(await instance.refreshNow()).toMatchObject({ outcome: 'not_leader', published: false });
    instance.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(scrape).not.toHaveBeenCalled();

    leader = true;
    const wokenAt = Date.now();
    instance.wake(wokenAt + 300);
    expect(secondsUntil(instance.status().next_fetch_at)).toBeGreaterThan(0.2);
    await waitUntil(() => scrape.mock.calls.length === 1);
    expect(Date.now() - wokenAt).toBeGreaterThanOrEqual(295);
    await instance.stop();
  });

  it('fetches soon after a settings change, but not while Finviz is pushing back', async () => {
    let fail = false;
    const scrape = jest.fn(async () => {
      if (fail) throw new ScreenerServerError('HTTP 503', 503, null);
      return page(['A']);
    });
    const { instance } = loop(scrape, { minGapMs: 100 });
    await instance.refreshNow();
    instance.settingsChanged();
    expect(secondsUntil(instance.status().next_fetch_at)).toBeLessThan(0.2);
    await waitUntil(() => scrape.mock.calls.length === 2);

    fail = true;
    await instance.refreshNow();
    const backedOffUntil = instance.status().next_fetch_at;
    instance.settingsChanged();
    expect(instance.status().next_fetch_at).toBe(backedOffUntil);
    expect(secondsUntil(backedOffUntil)).toBeGreaterThan(REFRESH_SEC - 1);
    await instance.stop();
  });

  it('answers "deferred" to a refresh asked while a Retry-After runs, without fetching', async () => {
    let calls = 0;
    const { instance } = loop(async () => {
      calls += 1;
      throw new ScreenerRateLimitedError('HTTP 429', 60_000);
    });
    await instance.refreshNow();
    const report = await instance.refreshNow();
    await instance.stop();
    expect(report).toMatchObject({ outcome: 'deferred', published: false });
    expect(calls).toBe(1);
    expect(instance.status().retry_after_until).not.toBeNull();
  });

  it('defers a refresh asked from afar (the console) while backing off after a push-back, without fetching; the back-off keeps its course', async () => {
    let calls = 0;
    const { instance } = loop(async () => {
      calls += 1;
      throw new ScreenerServerError('HTTP 503', 503, null);
    });
    await instance.refreshNow();
    const backedOffUntil = instance.status().next_fetch_at;
    const report = await instance.requestedRefresh();
    expect(report).toMatchObject({ outcome: 'deferred', published: false });
    expect(report?.error).toContain('backing off');
    expect(calls).toBe(1);
    expect(instance.status().next_fetch_at).toBe(backedOffUntil);
    // The screener's own POST /admin/refresh still overrides it.
    await instance.refreshNow();
    expect(calls).toBe(2);
    await instance.stop();
  });

  it('runs a refresh asked from afar at once when Finviz is not pushing back', async () => {
    const scrape = jest.fn(async () => page(['A']));
    const { instance } = loop(scrape);
    expect(await instance.requestedRefresh()).toMatchObject({ outcome: 'ok' });
    expect(scrape).toHaveBeenCalledTimes(1);
    await instance.stop();
  });

  it('abandons the pass in progress when paused: its request is aborted and nothing is published, not even afterwards', async () => {
    let paused = false;
    let aborted = false;
    const { instance, published, outcomes } = loop((_url, _topN, signal) => new Promise<TopnScrape>((resolve, reject) => {
      // A slow Finviz: answers after 2 s unless the pass is aborted first.
      const timer = setTimeout(() => resolve(page(['A', 'B', 'C'])), 2000);
      signal.addEventListener('abort', () => {
        aborted = true;
        clearTimeout(timer);
        reject(new ScreenerNetworkError('aborted', null));
      });
    }), { isPaused: () => paused });
    const pass = instance.refreshNow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    paused = true;
    instance.paused();
    const report = await pass;
    expect(report).toMatchObject({ outcome: 'paused', published: false });
    expect(aborted).toBe(true);
    expect(await instance.refreshNow()).toMatchObject({ outcome: 'paused', published: false });
    await instance.stop();
    expect(published).toEqual([]);
    // An abandoned pass is not a Finviz failure: no outcome counted, no back-off.
    expect(outcomes).toEqual([]);
    expect(instance.status()).toMatchObject({ backing_off: false, consecutive_failures: 0 });
  });

  it('fetches again as soon as it is resumed', async () => {
    let paused = true;
    const scrape = jest.fn(async () => page(['A', 'B', 'C']));
    const { instance, published } = loop(scrape, { isPaused: () => paused, minGapMs: 10 });
    instance.start();
    await waitUntil(() => instance.status().last?.outcome === 'paused');
    expect(scrape).not.toHaveBeenCalled();
    paused = false;
    instance.wake();
    await waitUntil(() => published.length === 1);
    await instance.stop();
  });
});
