import type { CheerioAPI } from 'cheerio';
import { parseTicker } from '@tsp/core';
import { UnrecognisedPageError } from '../screener-errors';
import { quoteLinkTicker, type PageElement } from './quote-reference';
import { normalise } from './screener-count';

/*
 * The table views — overview, valuation, financial, ownership, performance, technical (v=111 …
 * v=171) and custom (v=151/152) — hold one result a row. Finviz has renamed its classes
 * (table-light → screener_table), switched header cells from td to th, and changed what the
 * ticker cell holds, each time breaking scrapers that selected by class. So the results table is
 * found by what it is — the table whose header row has a "Ticker" column, wherever the column
 * stands — and the ticker is read from the most stable source the cell offers.
 */

const TICKER_HEADER = 'ticker';

export interface ResultsTable {
  table: PageElement;
  headerRow: PageElement;
  tickerIndex: number;
}

export function findResultsTable($: CheerioAPI): ResultsTable | null {
  for (const row of $('tr').toArray()) {
    const cells = $(row).children('td, th').toArray();
    const tickerIndex = cells.findIndex((cell) => normalise($(cell).text()).toLowerCase() === TICKER_HEADER);
    if (tickerIndex < 0) continue;
    const tables = $(row).parents('table');
    if (tables.length === 0) continue;
    return { table: tables.toArray()[0], headerRow: row, tickerIndex };
  }
  return null;
}

/** The Ticker column's tickers, top to bottom. */
export function readTableTickers($: CheerioAPI, results: ResultsTable): string[] {
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
    const ticker = parseTicker(cell.attr('data-boxover-ticker')?.trim() || tickerFromLinks($, cell.find('a[href]').toArray()) || normalise(cell.text()));
    if (!ticker.ok) {
      throw new UnrecognisedPageError(`row ${index + 1} of the results table has no readable ticker: ${ticker.message}`);
    }
    tickers.push(ticker.ticker);
  });
  return tickers;
}

/** The `t` parameter of the cell's first link to a quote page (its text can be decorated). */
function tickerFromLinks($: CheerioAPI, links: PageElement[]): string | null {
  for (const link of links) {
    const ticker = quoteLinkTicker($(link).attr('href') ?? '');
    if (ticker) return ticker;
  }
  return null;
}
