import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { RequestGate } from '../src/finviz/request-gate';
import { pageUrl, scrapeTopn } from '../src/finviz/html-scraper';
import { UnrecognisedPageError } from '../src/finviz/screener-errors';
import { startScreener } from '../src/service';
import { LAYOUT_2023, LAYOUT_2025, LAYOUT_2026, requestedRow, syntheticPage, syntheticTickers, type SyntheticLayout } from './synthetic-pages';

const HTML = { 'content-type': 'text/html; charset=utf-8' };
const PATH_AND_QUERY = '/screener.ashx?v=111&f=cap_small,ta_gap_u5&o=-change';

describe('reading the Top-N across screener pages', () => {
  let finviz: LocalServer;
  let universe: string[] = [];
  let layout: SyntheticLayout = LAYOUT_2026;
  /** Replaces the default answer for one test. */
  let answer: ((row: number, index: number) => string) | null = null;

  beforeAll(async () => {
    finviz = await startLocalServer((req, index) => ({
      status: 200,
      body: answer ? answer(requestedRow(req.url), index) : syntheticPage(layout, universe, requestedRow(req.url)),
      headers: HTML,
    }));
  });
  afterEach(() => {
    answer = null;
  });
  afterAll(() => finviz.close());

  const screenerUrl = () => `${finviz.url}${PATH_AND_QUERY}`;
  const scrape = (topN: number, gapMs = 20) => scrapeTopn(screenerUrl(), topN, { timeoutMs: 5000, gate: new RequestGate(() => gapMs) });
  const requestsSince = (before: number) => finviz.received.slice(before);

  it.each([
    ['45 across classic pages of 20 rows (2023 markup)', LAYOUT_2023, 45, [1, 21, 41]],
    ['45 across pages of 20 rows (2026 markup)', LAYOUT_2026, 45, [1, 21, 41]],
    ['120 across pages of 50 rows (2025 markup)', LAYOUT_2025, 120, [1, 51, 101]],
  ] as const)('a Top-%s equals the pages\' tickers in order', async (_name, pageLayout, topN, rows) => {
    layout = pageLayout;
    universe = syntheticTickers(146);
    const before = finviz.received.length;
    const result = await scrape(topN);

    expect(result.tickers.slice(0, topN)).toEqual(universe.slice(0, topN));
    expect(result).toMatchObject({ total: 146, truncated: false, duplicatesDropped: 0, pages: rows.length });
    const requests = requestsSince(before);
    expect(requests.map((request) => requestedRow(request.url))).toEqual(rows);
    // The first page is the URL as given; later ones only add r=, keeping filters and sort.
    expect(requests[0].url).toBe(PATH_AND_QUERY);
    for (const request of requests.slice(1)) expect(request.url).toBe(`${PATH_AND_QUERY}&r=${requestedRow(request.url)}`);
  });

  it('stops at the total the page states, even when top_n asks for more', async () => {
    layout = LAYOUT_2026;
    universe = syntheticTickers(104);
    const before = finviz.received.length;
    const result = await scrape(1000);
    expect(result.tickers).toEqual(universe);
    expect(result).toMatchObject({ total: 104, truncated: false, pages: 6 });
    expect(requestsSince(before).map((request) => requestedRow(request.url))).toEqual([1, 21, 41, 61, 81, 101]);
  });

  it('drops a ticker read twice when the list moves between two page requests, and counts it', async () => {
    layout = LAYOUT_2026;
    universe = syntheticTickers(60);
    const original = [...universe];
    // After the first page is served a new ticker enters at the top: row 20 moves to row 21.
    answer = (row) => {
      const page = syntheticPage(layout, universe, row);
      universe = ['NEWX', ...original];
      return page;
    };
    const result = await scrape(30);
    expect(result.tickers.slice(0, 30)).toEqual(original.slice(0, 30));
    expect(result.duplicatesDropped).toBe(1);
  });

  it('stops when the server ignores r= instead of paging forever', async () => {
    layout = LAYOUT_2026;
    universe = syntheticTickers(104);
    answer = () => syntheticPage(layout, universe, 1);
    const before = finviz.received.length;
    const result = await scrape(45);
    expect(result.tickers).toEqual(universe.slice(0, 20));
    expect(result).toMatchObject({ truncated: true, pages: 2, duplicatesDropped: 20 });
    expect(requestsSince(before)).toHaveLength(2);
  });

  it('fails the whole scrape when a later page is not a screener page: half a Top-N is never used', async () => {
    layout = LAYOUT_2026;
    universe = syntheticTickers(104);
    answer = (row) => (row === 1 ? syntheticPage(layout, universe, 1) : '<html><head><title>Maintenance</title></head><body>Back soon</body></html>');
    await expect(scrape(45)).rejects.toBeInstanceOf(UnrecognisedPageError);
  });

  it('waits the configured pause between page requests, one request at a time', async () => {
    layout = LAYOUT_2026;
    universe = syntheticTickers(104);
    const before = finviz.received.length;
    await scrape(60, 300);
    const at = requestsSince(before).map((request) => request.at);
    expect(at).toHaveLength(3);
    for (let i = 1; i < at.length; i += 1) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(300);
  });

  it('builds page URLs by replacing r= only', () => {
    expect(pageUrl('https://finviz.com/screener.ashx?v=111&f=cap_small,sh_avgvol_o500&o=-change', 21))
      .toBe('https://finviz.com/screener.ashx?v=111&f=cap_small,sh_avgvol_o500&o=-change&r=21');
    expect(pageUrl('https://finviz.com/screener?v=111&r=41&o=ticker', 1)).toBe('https://finviz.com/screener?v=111&o=ticker');
    expect(pageUrl('https://finviz.com/screener?v=111&R=41&o=ticker', 61)).toBe('https://finviz.com/screener?v=111&o=ticker&r=61');
  });

  it('the screener publishes a Top-45 read from three pages, and records it in the history', async () => {
    layout = LAYOUT_2023;
    universe = syntheticTickers(146);
    const prefix = uniquePrefix('pages');
    const redis = new IORedis(process.env.REDIS_URL!);
    const prisma = createPrisma(process.env.DATABASE_URL!);
    const screener = await startScreener(
      loadConfig({
        ...process.env, KEY_PREFIX: prefix, SCREENER_PORT: '0', FINVIZ_URL: screenerUrl(), TOP_N: '45',
        FINVIZ_REFRESH_SEC: '3600', FINVIZ_PAGE_DELAY_MS: '20',
      }),
      createLogger('screener', process.env.LOG_LEVEL),
    );
    try {
      const set = await waitFor(() => readTopnSet(redis, prefix), 15_000, 'the Top-N set');
      expect(set.tickers).toEqual(universe.slice(0, 45));
      expect(set).toMatchObject({ top_n: 45, duplicates_dropped: 0 });
      const row = await waitFor(() => prisma.topnSnapshot.findUnique({ where: { id: set.snapshot_id } }), 5000, 'the snapshot row');
      expect(row).toMatchObject({ tickers: set.tickers, deployment: prefix, duplicatesDropped: 0 });
    } finally {
      await screener.stop();
      await redis.del(...(await redis.keys(`${prefix}:*`)));
      await prisma.topnSnapshot.deleteMany({ where: { deployment: prefix } });
      await prisma.$disconnect();
      redis.disconnect();
    }
  });
});
