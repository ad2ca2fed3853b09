import { load } from 'cheerio';
import { UnrecognisedPageError } from './screener-errors';
import { classifyForeignPage, describePage } from './page/foreign-page';
import { readResultList } from './page/result-list';
import { findResultsTable, readTableTickers } from './page/results-table';
import { readScreenerCount, type ScreenerCount } from './page/screener-count';

/** One page of screener results, tickers in the page's (ranked) order. */
export interface ScreenerPage {
  tickers: string[];
  /** "#1 / 146 Total" → 146; null when the page does not say. */
  total: number | null;
  /** "#21 / 146 Total" → 21: the rank of the first row, for paging with `r=`. */
  firstRow: number | null;
}

/**
 * Reads the tickers of any Finviz screener view, by structure: a table with a Ticker column
 * (overview, valuation, financial, ownership, performance, technical, custom: results-table.ts),
 * else the quote links, quote-page onclicks and chart images after the "#1 / N Total" count
 * (charts, basic, tickers-only, a custom view without Ticker: result-list.ts). A page that is
 * neither is not read as "no tickers": it throws UnrecognisedPageError, as does a page whose
 * tickers contradict its count.
 */
export function parseScreener(html: string): ScreenerPage {
  const $ = load(html);
  const count = readScreenerCount($);
  const table = findResultsTable($);
  let tickers: string[];
  if (table) {
    tickers = readTableTickers($, table);
  } else if (count.element) {
    tickers = count.total === 0 ? [] : readResultList($, count.element, remainingRows(count));
  } else {
    const looksLike = classifyForeignPage($);
    throw new UnrecognisedPageError(`no screener results on the page: neither a results table with a Ticker column nor a "#1 / N Total" count (${describePage($, looksLike)})`, looksLike);
  }
  checkAgainstCount(tickers, count, table !== null);
  return { tickers, total: count.total, firstRow: count.firstRow };
}

/** How many results the count leaves from this page's first row on, when it says. */
function remainingRows({ total, firstRow }: ScreenerCount): number | null {
  if (total === null) return null;
  return total - Math.max(firstRow ?? 1, 1) + 1;
}

function checkAgainstCount(tickers: string[], count: ScreenerCount, fromTable: boolean): void {
  if (tickers.length === 0 && count.total !== 0) {
    // A page with no results while it does not say "0 Total" is a broken or truncated page; an
    // empty Top-N would reject every signal.
    throw new UnrecognisedPageError(fromTable
      ? 'the results table has no rows but the page does not report 0 results'
      : `the page reports ${count.total ?? 'some'} results but names no ticker after its count: no Ticker column, no quote links, no chart images`);
  }
  const remaining = remainingRows(count);
  if (remaining !== null && tickers.length > remaining) {
    throw new UnrecognisedPageError(`the page holds ${tickers.length} results but its count ("#${count.firstRow ?? 1} / ${count.total} Total") leaves only ${remaining}`);
  }
}
