/**
 * Every Finviz view — table views (Ticker anywhere, or absent), charts, basic, tickers-only —
 * read by structure from pages built on the saved ones (view-pages.ts), and paged by the rows
 * each page actually held.
 */
import { parseScreener } from '../src/finviz/screener-page';
import { pageUrl, scrapeTopn } from '../src/finviz/html-scraper';
import { RequestGate } from '../src/finviz/request-gate';
import { UnrecognisedPageError } from '../src/finviz/screener-errors';
import { startLocalServer, type LocalServer } from '../../../test/support/helpers';
import { LAYOUT_2023, LAYOUT_2026, requestedRow, syntheticTickers } from './synthetic-pages';
import { DECORATION_TICKERS, ROWS_PER_PAGE, TABLE_VIEWS, viewPage, type View } from './view-pages';
import { thrownBy } from '../../../test/support/helpers';

const VIEWS: View[] = [...(Object.keys(TABLE_VIEWS) as View[]), 'charts', 'basic', 'tickers'];
const LAYOUTS = [['2023 markup', LAYOUT_2023], ['2026 markup', LAYOUT_2026]] as const;
const CASES = VIEWS.flatMap((view) => LAYOUTS.map(([name, layout]) => [view, name, layout] as const));
const universe = syntheticTickers(2500);


describe('reading every Finviz view', () => {
  it.each(CASES)('%s (%s): the tickers of the page, in page order, and its count', (view, _name, layout) => {
    const rows = ROWS_PER_PAGE[view];
    const page = parseScreener(viewPage(view, layout, universe.slice(0, 1460), 1));
    expect(page.tickers).toEqual(universe.slice(0, rows));
    expect(page).toMatchObject({ total: 1460, firstRow: 1 });
  });

  it.each(CASES)('%s (%s): ticker links in the header, beside the count and in ads add no ticker', (view, _name, layout) => {
    const page = parseScreener(viewPage(view, layout, universe.slice(0, 146), 1, { decorated: true }));
    expect(page.tickers).toEqual(universe.slice(0, Math.min(146, ROWS_PER_PAGE[view])));
    expect(page.tickers.filter((ticker) => DECORATION_TICKERS.includes(ticker))).toEqual([]);
  });

  it.each(CASES)('%s (%s): a short last page among decoration holds just its results', (view, _name, layout) => {
    // Two results, and the ads hold two ticker links as well: the results are the ones the count leaves.
    const page = parseScreener(viewPage(view, layout, universe.slice(0, 2), 1, { decorated: true }));
    expect(page.tickers).toEqual(universe.slice(0, 2));
  });

  it.each(CASES)('%s (%s): a later page starts at its own first row', (view, _name, layout) => {
    const rows = ROWS_PER_PAGE[view];
    const page = parseScreener(viewPage(view, layout, universe, rows + 1));
    expect(page.tickers).toEqual(universe.slice(rows, 2 * rows));
    expect(page.firstRow).toBe(rows + 1);
  });

  it.each(CASES)('%s (%s): a page that says 0 results reads as none', (view, _name, layout) => {
    expect(parseScreener(viewPage(view, layout, [], 1, { results: '', count: '#0 / 0 Total' })).tickers).toEqual([]);
  });

  it.each(CASES)('%s (%s): a page whose results are gone while its count says 146 is an UnrecognisedPageError', (view, _name, layout) => {
    const error = thrownBy(() => parseScreener(viewPage(view, layout, universe.slice(0, 146), 1, { results: '<p>Loading…</p>', decorated: true })));
    expect(error).toBeInstanceOf(UnrecognisedPageError);
  });

  it.each(CASES)('%s (%s): a result with an unreadable ticker is an UnrecognisedPageError naming it', (view, _name, layout) => {
    const tickers = ['GOOD', 'BRK.B.C', 'FINE'];
    const error = thrownBy(() => parseScreener(viewPage(view, layout, tickers, 1)));
    expect(error).toBeInstanceOf(UnrecognisedPageError);
    expect((error as Error).message).toMatch(/(row|result) 2 .*ticker/);
  });

  it.each(VIEWS.filter((view) => !(view in TABLE_VIEWS) || view === '152-no-ticker'))('%s: without a count or a results table the page is not a screener page', (view) => {
    const error = thrownBy(() => parseScreener(viewPage(view, LAYOUT_2026, universe.slice(0, 20), 1, { count: null })));
    expect(error).toBeInstanceOf(UnrecognisedPageError);
    expect((error as Error).message).toMatch(/neither a results table with a Ticker column nor a "#1 \/ N Total" count/);
  });

  it('refuses a page holding more results than its count leaves', () => {
    const html = viewPage('tickers', LAYOUT_2023, universe.slice(0, 30), 1, { count: '#1 / 25 Total' });
    expect(() => parseScreener(html)).toThrow(/holds 30 results but its count leaves only 25/);
  });

  it('reads a quote link with the ticker list of a screener (t=A,B) as no ticker', () => {
    const html = viewPage('tickers', LAYOUT_2026, universe.slice(0, 3), 1)
      .replace('save as portfolio</a>', 'save as portfolio</a> <a href="quote?t=SPY,QQQ">compare</a>');
    expect(parseScreener(html).tickers).toEqual(universe.slice(0, 3));
  });
});

describe('paging through every view by the rows each page held', () => {
  let finviz: LocalServer;
  let view: View = 'tickers';
  let total = universe.length;

  beforeAll(async () => {
    finviz = await startLocalServer((req) => ({
      status: 200, body: viewPage(view, LAYOUT_2026, universe.slice(0, total), requestedRow(req.url), { decorated: true }),
      headers: { 'content-type': 'text/html; charset=utf-8' },
    }));
  });
  afterAll(() => finviz.close());

  const scrape = (v: View, topN: number, path: string) => {
    view = v;
    const before = finviz.received.length;
    return scrapeTopn(`${finviz.url}${path}`, topN, { timeoutMs: 10_000, gate: new RequestGate(() => 0) })
      .then((result) => ({ result, rows: finviz.received.slice(before).map((request) => requestedRow(request.url)) }));
  };

  it('tickers-only (v=411): a Top-1000 in one request of 1,000 tickers', async () => {
    total = universe.length;
    const { result, rows } = await scrape('tickers', 1000, '/screener?v=411&f=sh_price_u5&o=-change');
    expect(result.tickers).toEqual(universe.slice(0, 1000));
    expect(rows).toEqual([1]);
  });

  it('tickers-only (v=411): past 1,000 rows the next page is r=1001, then r=2001', async () => {
    total = universe.length;
    const { result, rows } = await scrape('tickers', 2100, '/screener?v=411&o=-change');
    // Whole pages are read: the last one's rows past the Top-2100 come along (the publisher cuts at top_n).
    expect(result.tickers).toEqual(universe);
    expect(rows).toEqual([1, 1001, 2001]);
    expect(result).toMatchObject({ total: universe.length, truncated: false, duplicatesDropped: 0, pages: 3 });
  });

  it.each(['charts', 'basic', '152-no-ticker', '121'] as const)('%s: a Top-45 across pages of 20 (r=1, 21, 41)', async (v) => {
    total = 146;
    const { result, rows } = await scrape(v, 45, `/screener?v=211&o=-change`);
    expect(result.tickers.slice(0, 45)).toEqual(universe.slice(0, 45));
    expect(rows).toEqual([1, 21, 41]);
  });

  it('stops at the stated total on a short last page', async () => {
    total = 30;
    const { result, rows } = await scrape('charts', 100, '/screener?v=211');
    expect(result.tickers).toEqual(universe.slice(0, 30));
    expect(rows).toEqual([1, 21]);
    expect(pageUrl('https://finviz.com/screener?v=411&o=-change', 1001)).toBe('https://finviz.com/screener?v=411&o=-change&r=1001');
  });
});
