import { load } from 'cheerio';
import { fixturePage, fixtureTickers } from './fixtures';

/**
 * Screener pages built from a saved page's own markup (its results table, row markup, count
 * text), holding the tickers the test chooses: for paging through more rows than were saved.
 */
export interface SyntheticLayout {
  fixture: string;
  /** Rows per page on that layout (what the saved page holds). */
  rowsPerPage: number;
  /** One row of the saved page is the template; its ticker is replaced in all its markup. */
  templateTicker: string;
}

export const LAYOUT_2023: SyntheticLayout = { fixture: 'finviz-screener-v111-2023.html', rowsPerPage: 20, templateTicker: 'ENSC' };
export const LAYOUT_2025: SyntheticLayout = { fixture: 'finviz-screener-v111-2025.html', rowsPerPage: 50, templateTicker: 'ABBV' };
export const LAYOUT_2026: SyntheticLayout = { fixture: 'finviz-screener-v111-2026.html', rowsPerPage: 20, templateTicker: 'TDIC' };

/** n distinct ticker-shaped names: SAAA, SAAB, ... */
export function syntheticTickers(n: number, lead = 'S'): string[] {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from({ length: n }, (_, i) => `${lead}${letters[Math.floor(i / 676) % 26]}${letters[Math.floor(i / 26) % 26]}${letters[i % 26]}`);
}

const ROWS_MARK = '<!--SYNTHETIC-ROWS-->';
const prepared = new Map<SyntheticLayout, { skeleton: string; template: string }>();

/**
 * The saved page cut in two, once per layout: the page with a mark where its data rows were
 * (found by content — rank cell and ticker link — not by class), and one row as the template.
 */
function prepare(layout: SyntheticLayout) {
  const cached = prepared.get(layout);
  if (cached) return cached;
  const $ = load(fixturePage(layout.fixture));
  const saved = fixtureTickers()[layout.fixture];
  const innermost = $('tr').toArray().filter((tr) => $(tr).find('tr').length === 0);
  const rows = saved.map((ticker, index) => {
    const candidates = innermost.filter((tr) => $(tr).children().first().text().trim() === String(index + 1) && ($(tr).html() ?? '').includes(`t=${ticker}&`));
    if (candidates.length !== 1) throw new Error(`${layout.fixture}: row ${index + 1} (${ticker}) found ${candidates.length} times`);
    return candidates[0];
  });
  const template = $.html(rows[saved.indexOf(layout.templateTicker)]);
  $(rows[0]).before(ROWS_MARK);
  for (const row of rows) $(row).remove();
  const result = { skeleton: $.html(), template };
  prepared.set(layout, result);
  return result;
}

/**
 * The page whose first row is `firstRow` (1-based) of `universe`, on the given layout, saying
 * "#firstRow / universe.length Total". Past the end it holds the last rows, as Finviz does.
 */
export function syntheticPage(layout: SyntheticLayout, universe: string[], firstRow: number): string {
  const { skeleton, template } = prepare(layout);
  const lastStart = universe.length - ((universe.length - 1) % layout.rowsPerPage);
  const start = Math.max(1, Math.min(firstRow, lastStart));
  const tickers = universe.slice(start - 1, start - 1 + layout.rowsPerPage);
  const built = tickers.map((ticker, i) => {
    const row = load(template.split(layout.templateTicker).join(ticker), null, false);
    const rankCell = row('tr').children().first();
    const rankTarget = rankCell.find('a').length ? rankCell.find('a').first() : rankCell;
    rankTarget.text(String(start + i));
    return row.html();
  });
  return skeleton
    .replace(ROWS_MARK, built.join('\n'))
    .replace(/#1 \/ [\d,]+ Total/, `#${start} / ${universe.length} Total`)
    .replace(/<!-- TS[\s\S]*?TE -->/, `<!-- TS\n${tickers.map((t) => `${t}|1.00|1000`).join('\n')}\nTE -->`);
}

/** The first row a screener URL asks for (`r=`, 1 when absent). */
export function requestedRow(url: string): number {
  return Number(new URL(url, 'http://localhost').searchParams.get('r') ?? '1');
}
