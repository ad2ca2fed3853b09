import { load, type CheerioAPI } from 'cheerio';
import { parseTicker } from '@tsp/core';
import { UnrecognisedPageError, type PageLooksLike } from './screener-errors';

/** One page of screener results, tickers in the page's (ranked) order. */
export interface ScreenerPage {
  tickers: string[];
  /** "#1 / 146 Total" → 146; null when the page does not say. */
  total: number | null;
  /** "#21 / 146 Total" → 21: the rank of the first row, for paging with `r=`. */
  firstRow: number | null;
}

/*
 * Finviz has renamed its classes (table-light → screener_table), switched header cells from td
 * to th, and changed what the ticker cell holds, each time breaking scrapers that selected by
 * class. So the results table is found by what it is — the table whose header row has a
 * "Ticker" column — and the ticker is read from the most stable source the cell offers.
 */

const TICKER_HEADER = 'ticker';
/** Ticker links across Finviz's URL styles: quote.ashx?t= (≤2025), quote?t= (2026), stock?t= (2026-07). */
const QUOTE_PATH = /(?:^|\/)(?:quote(?:\.ashx)?|stock)$/i;
const COUNT_TEXT = /(?:#\s*([\d,]+)\s*\/\s*)?([\d,]+)\s+Total\b/i;
const COUNT_TEXT_STRICT = /#\s*([\d,]+)\s*\/\s*([\d,]+)\s+Total\b/i;

export function parseScreener(html: string): ScreenerPage {
  const $ = load(html);
  const results = findResultsTable($);
  if (!results) {
    const looksLike = classifyForeignPage($);
    throw new UnrecognisedPageError(`no screener results table on the page (${describePage($, looksLike)})`, looksLike);
  }
  const { total, firstRow } = readCount($);
  const tickers = readTickers($, results);
  if (tickers.length === 0 && total !== 0) {
    // A table with a header and no rows, while the page does not say "0 Total", is a broken
    // or truncated page; an empty Top-N would reject every signal.
    throw new UnrecognisedPageError('the results table has no rows but the page does not report 0 results');
  }
  return { tickers, total, firstRow };
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function findResultsTable($: CheerioAPI) {
  for (const row of $('tr').toArray()) {
    const cells = $(row).children('td, th').toArray();
    const tickerIndex = cells.findIndex((cell) => normalise($(cell).text()).toLowerCase() === TICKER_HEADER);
    if (tickerIndex < 0) continue;
    const table = $(row).closest('table');
    if (table.length === 0) continue;
    return { table: table[0], headerRow: row, tickerIndex };
  }
  return null;
}

function readTickers($: CheerioAPI, results: NonNullable<ReturnType<typeof findResultsTable>>): string[] {
  // Only the table's own rows: a layout table nested in a cell must not contribute rows.
  const rows = $(results.table)
    .find('tr')
    .toArray()
    .filter((row) => $(row).closest('table')[0] === results.table);
  const dataRows = rows.slice(rows.indexOf(results.headerRow) + 1);

  const tickers: string[] = [];
  dataRows.forEach((row, index) => {
    const cells = $(row).children('td, th');
    // A row too short to have the column (a spacer, a "no results" colspan row) is not a result.
    if (cells.length <= results.tickerIndex) return;
    const cell = cells.eq(results.tickerIndex);
    // The rule a webhook's ticker is read by, so that Finviz's BRK-B (or BRK.B on old pages) meets it.
    const ticker = parseTicker(cell.attr('data-boxover-ticker')?.trim() || tickerFromLinks($, cell) || normalise(cell.text()));
    if (!ticker.ok) {
      throw new UnrecognisedPageError(`row ${index + 1} of the results table has no readable ticker: ${ticker.message}`);
    }
    tickers.push(ticker.ticker);
  });
  return tickers;
}

/** The `t` parameter of the cell's first link to a quote page (its text can be decorated). */
function tickerFromLinks($: CheerioAPI, cell: ReturnType<CheerioAPI>): string | null {
  for (const link of cell.find('a[href]').toArray()) {
    const href = $(link).attr('href') ?? '';
    let url: URL;
    try {
      url = new URL(href, 'https://finviz.com/');
    } catch {
      continue;
    }
    const t = url.searchParams.get('t');
    if (t && QUOTE_PATH.test(url.pathname)) return t;
  }
  return null;
}

function parseCount(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const value = Number(raw.replace(/,/g, ''));
  return Number.isSafeInteger(value) ? value : null;
}

/** "#1 / 146 Total", held in #screener-total (2025+) or td.count-text (2023), else anywhere. */
function readCount($: CheerioAPI): { total: number | null; firstRow: number | null } {
  for (const element of $('#screener-total, .count-text').toArray()) {
    const match = COUNT_TEXT.exec(normalise($(element).text()));
    if (match) return { firstRow: parseCount(match[1]), total: parseCount(match[2]) };
  }
  const match = COUNT_TEXT_STRICT.exec(normalise($('body').text()));
  return match ? { firstRow: parseCount(match[1]), total: parseCount(match[2]) } : { total: null, firstRow: null };
}

function classifyForeignPage($: CheerioAPI): PageLooksLike {
  const text = `${$('title').text()} ${$('body').text()}`.slice(0, 5000);
  if (/too many requests/i.test(text)) return 'rate_limited';
  // Cloudflare's interstitials: "Just a moment...", "Attention Required!", challenge scripts.
  if (/just a moment|attention required|verify you are human|cf-chl|challenge-platform/i.test(`${text} ${$.html().slice(0, 20_000)}`)) return 'challenge';
  return 'unknown';
}

function describePage($: CheerioAPI, looksLike: PageLooksLike): string {
  const title = normalise($('title').text()) || normalise($('body').text()).slice(0, 60) || 'empty page';
  return `${looksLike === 'unknown' ? 'page' : looksLike} "${title}"`;
}
