import { fetchScreenerPage, type FetchScreenerOptions } from './fetch-screener';

/** What one scrape found: the ranked tickers the Top-N is taken from. */
export interface TopnScrape {
  /** In rank order, at most what was read (the publisher keeps the first top_n). */
  tickers: string[];
  /** How many rows the screener matches in all, when the page says. */
  total: number | null;
  /** Names where the set came from, for the published set and its history row. */
  source: string;
  /** True when fewer than top_n rows were read although the screener has more. */
  truncated: boolean;
}

/**
 * Reads the top `topN` rows of the screener at `url`.
 *
 * The one place that knows how rows are obtained: today the first page of the HTML screener
 * (20–100 rows depending on the view). Reading further pages with `r=` and the Elite CSV
 * export belong here too, behind the same signature.
 */
export async function scrapeTopn(url: string, topN: number, options: FetchScreenerOptions): Promise<TopnScrape> {
  const page = await fetchScreenerPage(url, options);
  const truncated = page.tickers.length < topN && page.total !== null && page.total > page.tickers.length;
  return { tickers: page.tickers, total: page.total, source: new URL(url).host, truncated };
}
