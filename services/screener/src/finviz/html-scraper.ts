import type { AxiosResponse } from 'axios';
import { classifyStatus, finvizRequest, reportOutcome, type FinvizHttpOptions } from './http-client';
import { parseScreener, type ScreenerPage } from './screener-page';
import type { TopnScrape } from './scraper';
import { ScreenerBlockedError, ScreenerRateLimitedError, UnrecognisedPageError } from './screener-errors';

/** 1000 rows (the largest top_n) at 20 a page is 50 pages; past this something is wrong. */
const MAX_PAGES = 60;

/**
 * The URL of the page whose first row is `firstRow`: the URL as given — its filters, its `o=`
 * sort, every other parameter byte for byte — with only `r=` replaced (absent for row 1).
 */
export function pageUrl(url: string, firstRow: number): string {
  const hashAt = url.indexOf('#');
  const base = hashAt < 0 ? url : url.slice(0, hashAt);
  const queryAt = base.indexOf('?');
  const path = queryAt < 0 ? base : base.slice(0, queryAt);
  const params = (queryAt < 0 ? '' : base.slice(queryAt + 1)).split('&').filter((part) => part && part.split('=')[0].toLowerCase() !== 'r');
  if (firstRow > 1) params.push(`r=${firstRow}`);
  return params.length ? `${path}?${params.join('&')}` : path;
}

/**
 * Reads the HTML screener page by page (`r=1`, then `r=` advanced by the rows the page actually
 * held: 20 on the classic layout, 50 on the 2025 one, whatever comes next) until it has `topN`
 * tickers or the page's stated total is reached. Pages are requested one at a time through the
 * gate, with its pause between them. A ticker seen on an earlier page is dropped and counted:
 * when the list moves between two requests, the row at a page boundary shows up twice.
 *
 * Any failed page fails the whole scrape: a half-read Top-N is never published.
 */
export async function scrapeTopn(url: string, topN: number, options: FinvizHttpOptions): Promise<TopnScrape> {
  const tickers: string[] = [];
  const seen = new Set<string>();
  let duplicatesDropped = 0;
  let total: number | null = null;
  let row = 1;
  let pages = 0;
  let stalled = false;

  while (tickers.length < topN) {
    if (pages >= MAX_PAGES) {
      stalled = true;
      break;
    }
    const page = await fetchScreenerPage(pageUrl(url, row), options);
    pages += 1;
    if (page.total !== null) total = page.total;
    let added = 0;
    for (const ticker of page.tickers) {
      if (seen.has(ticker)) {
        duplicatesDropped += 1;
        continue;
      }
      seen.add(ticker);
      tickers.push(ticker);
      added += 1;
    }
    if (page.tickers.length === 0) break;
    // The page says where it started; past the end Finviz answers its last page instead.
    const startedAt = page.firstRow !== null && page.firstRow >= 1 ? page.firstRow : row;
    row = startedAt + page.tickers.length;
    if (total !== null && row > total) break;
    if (added === 0) {
      // Nothing new: the server ignores r= (or keeps answering one page). Stop rather than loop.
      stalled = true;
      break;
    }
  }

  const truncated = tickers.length < topN && (stalled || (total !== null && total > tickers.length));
  return { tickers, total, source: new URL(url).host, truncated, duplicatesDropped, pages };
}

/**
 * GETs one screener page and parses it. Every way it can fail becomes one typed error
 * (see screener-errors.ts), so the loop decides how to back off without reading messages.
 */
export async function fetchScreenerPage(url: string, options: FinvizHttpOptions): Promise<ScreenerPage> {
  return reportOutcome(options.onOutcome, async () => {
    const response = await finvizRequest({ method: 'get', url }, options);
    classifyStatus(response);
    return parsePage(response);
  });
}

function parsePage(response: AxiosResponse<string>): ScreenerPage {
  try {
    return parseScreener(String(response.data ?? ''));
  } catch (error) {
    if (!(error instanceof UnrecognisedPageError)) throw error;
    // Finviz and Cloudflare sometimes refuse with HTTP 200 and a page of their own.
    if (error.looksLike === 'rate_limited') {
      throw new ScreenerRateLimitedError(`HTTP ${response.status} with a "Too Many Requests" page`, null, { cause: error });
    }
    if (error.looksLike === 'challenge') {
      throw new ScreenerBlockedError(`HTTP ${response.status} with a bot challenge page`, response.status, true, { cause: error });
    }
    throw error;
  }
}
