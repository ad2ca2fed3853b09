import { load } from 'cheerio';
import { fixturePage, fixtureTickers } from './fixtures';
import type { SyntheticLayout } from './synthetic-pages';

/*
 * Screener pages of every Finviz view, built from a saved v=111 page: its header, filters, view
 * tabs, count ("#1 / 146 Total"), paging and footer as saved, its results table replaced by the
 * view's own markup. One builder per markup family:
 *   - table views: a results table, Ticker anywhere (or absent) — overview, valuation, financial,
 *     ownership, performance, technical, custom;
 *   - charts (v=211): a grid of chart images, linked to the quote page (or bare, with a caption);
 *   - basic (v=311): a block per ticker — title link, chart, snapshot table, news links;
 *   - tickers (v=411): a span per ticker whose onclick goes to its quote page, up to 1,000 a page.
 */

/** The column headers of the table views, as Finviz shows them. */
export const TABLE_VIEWS = {
  '111': ['No.', 'Ticker', 'Company', 'Sector', 'Industry', 'Country', 'Market Cap', 'P/E', 'Price', 'Change', 'Volume'],
  '121': ['No.', 'Ticker', 'Market Cap', 'P/E', 'Fwd P/E', 'PEG', 'P/S', 'P/B', 'P/C', 'P/FCF', 'EPS this Y', 'EPS next Y', 'EPS past 5Y', 'EPS next 5Y', 'Sales past 5Y', 'Price', 'Change', 'Volume'],
  '131': ['No.', 'Ticker', 'Market Cap', 'Outstanding', 'Float', 'Insider Own', 'Insider Trans', 'Inst Own', 'Inst Trans', 'Float Short', 'Short Ratio', 'Avg Volume', 'Price', 'Change', 'Volume'],
  '141': ['No.', 'Ticker', 'Perf Week', 'Perf Month', 'Perf Quart', 'Perf Half', 'Perf Year', 'Perf YTD', 'Volatility W', 'Volatility M', 'Recom', 'Avg Volume', 'Rel Volume', 'Price', 'Change', 'Volume'],
  '161': ['No.', 'Ticker', 'Market Cap', 'Dividend', 'ROA', 'ROE', 'ROI', 'Curr R', 'Quick R', 'LTDebt/Eq', 'Debt/Eq', 'Gross M', 'Oper M', 'Profit M', 'Earnings', 'Price', 'Change', 'Volume'],
  '171': ['No.', 'Ticker', 'Beta', 'ATR', 'SMA20', 'SMA50', 'SMA200', '52W High', '52W Low', 'RSI', 'Price', 'Change', 'Change from Open', 'Gap', 'Volume'],
  /** Custom (v=152, c=0,2,65,1,66): the Ticker column fourth. */
  '152-ticker-fourth': ['No.', 'Company', 'Price', 'Ticker', 'Change'],
  /** Custom without a Ticker column (c=0,2,65,66): each cell still links to its row's quote page. */
  '152-no-ticker': ['No.', 'Company', 'Price', 'Change'],
} as const;
export type TableView = keyof typeof TABLE_VIEWS;
export type View = TableView | 'charts' | 'basic' | 'tickers';

/** Rows a page of each view holds on finviz.com. */
export const ROWS_PER_PAGE: Record<View, number> = {
  ...(Object.fromEntries(Object.keys(TABLE_VIEWS).map((view) => [view, 20])) as Record<TableView, number>),
  charts: 20, basic: 20, tickers: 1000,
};

/** Tickers the decoration names; never in a test's universe (whose names have four letters). */
export const DECORATION_TICKERS = ['SPY', 'QQQ', 'DIA', 'ADX', 'ADW', 'ADY', 'ADZ'];

const RESULTS_MARK = '<!--VIEW-RESULTS-->';
const AFTER_RESULTS_MARK = '<!--AFTER-RESULTS-->';

interface Skeleton {
  html: string;
  /** The saved page's quote link, for another ticker (quote.ashx?t=… in 2023, quote?t=… in 2026). */
  quoteHref: (ticker: string) => string;
  /** 2026 pages mark ticker cells with data-boxover-ticker and use th header cells. */
  modern: boolean;
}

const skeletons = new Map<SyntheticLayout, Skeleton>();

/** The saved page with its results table cut out (found by content: rank 1 and the first ticker's link, not by class). */
function skeletonOf(layout: SyntheticLayout): Skeleton {
  const cached = skeletons.get(layout);
  if (cached) return cached;
  const $ = load(fixturePage(layout.fixture));
  const first = fixtureTickers()[layout.fixture][0];
  const row = $('tr').toArray().find((tr) => $(tr).find('tr').length === 0 && $(tr).children().first().text().trim() === '1' && ($(tr).html() ?? '').includes(`t=${first}&`));
  if (!row) throw new Error(`${layout.fixture}: the first result row was not found`);
  const href = $(row).find('a[href]').first().attr('href')!;
  const table = $(row).parents('table').first();
  table.parents('tr').first().after(`${AFTER_RESULTS_MARK}`);
  table.replaceWith(RESULTS_MARK);
  const skeleton: Skeleton = {
    html: $.html().replace(/<!-- TS[\s\S]*?TE -->/, ''),
    quoteHref: (ticker) => href.replace(`t=${first}&`, `t=${ticker}&`),
    modern: href.startsWith('quote?'),
  };
  skeletons.set(layout, skeleton);
  return skeleton;
}

const chartSrc = (ticker: string) => `https://charts2-node.finviz.com/chart.ashx?cs=m&t=${ticker}&tf=d&s=linear&ct=candle_stick&tm=d`;
const escape = (text: string) => text.replace(/&/g, '&amp;');

function tableResults(view: TableView, tickers: string[], start: number, sk: Skeleton): string {
  const columns = TABLE_VIEWS[view];
  const cell = sk.modern ? 'th' : 'td';
  const header = `<tr align="center" valign="middle">${columns.map((name) => `<${cell} class="table-header cursor-pointer" onclick="window.location='screener.ashx?v=${view}&amp;o=${name.toLowerCase()}'">${name}</${cell}>`).join('')}</tr>`;
  const rows = tickers.map((ticker, i) => {
    const href = escape(sk.quoteHref(ticker));
    const cells = columns.map((name) => {
      const text = name === 'No.' ? String(start + i) : name === 'Ticker' ? ticker : name === 'Company' ? `${ticker} Holdings Inc.` : `${(i % 7) + 1}.${i % 10}0`;
      const boxover = sk.modern && name === 'Ticker' ? ` data-boxover-ticker="${ticker}"` : '';
      return `<td height="10" align="left"${boxover}><a href="${href}" class="${name === 'Ticker' ? 'tab-link' : 'screener-link'}">${text}</a></td>`;
    });
    return `<tr valign="top">${cells.join('')}</tr>`;
  });
  return `<table class="styled-table-new is-rounded screener_table">${sk.modern ? `<thead>${header}</thead>` : header}${rows.join('\n')}</table>`;
}

/** 2023: a table of linked chart images, four a row. 2026: a grid of bare chart images with captions. */
function chartsResults(tickers: string[], sk: Skeleton): string {
  if (sk.modern) {
    const cells = tickers.map((ticker) => `<div class="flex flex-col"><img src="${escape(chartSrc(ticker))}" width="320" height="240" alt=""><span class="font-bold">${ticker}</span> <span>${ticker} Holdings Inc.</span></div>`);
    return `<div class="grid grid-cols-4 gap-2">${cells.join('\n')}</div>`;
  }
  const cells = tickers.map((ticker) => `<td align="center"><a href="${escape(sk.quoteHref(ticker))}"><img src="${escape(chartSrc(ticker))}" width="320" height="240" border="0" alt=""></a></td>`);
  const rows: string[] = [];
  for (let i = 0; i < cells.length; i += 4) rows.push(`<tr>${cells.slice(i, i + 4).join('')}</tr>`);
  return `<table width="100%" cellpadding="3" cellspacing="0" border="0">${rows.join('\n')}</table>`;
}

/** A block per ticker: its title link, its chart, a snapshot table (links to screeners, not quotes) and news. */
function basicResults(tickers: string[], sk: Skeleton): string {
  return tickers.map((ticker, i) => {
    const href = escape(sk.quoteHref(ticker));
    const snapshot = [['Index', '<a href="screener.ashx?v=111&amp;f=idx_sp500">S&amp;P 500</a>'], ['P/E', '23.41'], ['EPS (ttm)', '1.20'], ['Market Cap', '1.2B'], ['Perf Week', `${i}.5%`], ['Earnings', 'May 05 AMC']]
      .map(([label, value]) => `<td class="snapshot-td2">${label}</td><td class="snapshot-td2"><b>${value}</b></td>`);
    return `<table width="100%" cellpadding="0" cellspacing="0" border="0" class="body-table">
<tr><td colspan="2" class="snapshot-title"><a href="${href}" class="tab-link"><b>${ticker}</b></a> ${ticker} Holdings Inc. | Technology | Software | USA</td></tr>
<tr><td width="340"><a href="${href}"><img src="${escape(chartSrc(ticker))}" width="320" height="180" alt=""></a></td>
<td><table class="snapshot-table2"><tr>${snapshot.slice(0, 3).join('')}</tr><tr>${snapshot.slice(3).join('')}</tr></table></td></tr>
<tr><td colspan="2"><table class="news-table"><tr><td>Jul-01-25</td><td><a href="https://news.example.com/${ticker}" target="_blank">${ticker} beats estimates as SPY and NVDA rally</a></td></tr></table></td></tr>
</table>`;
  }).join('\n');
}

/** A span per ticker whose onclick goes to its quote page. */
function tickersResults(tickers: string[], sk: Skeleton): string {
  const spans = tickers.map((ticker) => `<span class="tab-link" style="cursor:pointer" onclick="window.location='${escape(sk.quoteHref(ticker))}'">${ticker}</span>`);
  return `<table width="100%" cellpadding="10" cellspacing="0" border="0"><tr><td class="screener-tickers" align="left">${spans.join('&nbsp;\n')}</td></tr></table>`;
}

export interface ViewPageOptions {
  /** Adds ticker links that are not results: a header strip, one beside "save as portfolio", ads after the results. */
  decorated?: boolean;
  /** Replaces the results (for broken pages). */
  results?: string;
  /** The count text (default "#first / total Total"); null leaves it out. */
  count?: string | null;
}

/**
 * The page of `view` whose first row is `firstRow` (1-based) of `universe`, on the saved page of
 * `layout`, saying "#firstRow / universe.length Total". Past the end it holds the last rows, as
 * Finviz does.
 */
export function viewPage(view: View, layout: SyntheticLayout, universe: string[], firstRow = 1, options: ViewPageOptions = {}): string {
  const sk = skeletonOf(layout);
  const perPage = ROWS_PER_PAGE[view];
  const lastStart = Math.max(1, universe.length - ((universe.length - 1) % perPage));
  const start = Math.max(1, Math.min(firstRow, lastStart));
  const tickers = universe.slice(start - 1, start - 1 + perPage);
  const results = options.results ?? (view === 'charts' ? chartsResults(tickers, sk)
    : view === 'basic' ? basicResults(tickers, sk)
      : view === 'tickers' ? tickersResults(tickers, sk)
        : tableResults(view, tickers, start, sk));
  let html = sk.html.replace(RESULTS_MARK, results).replace(/#1 \/ [\d,]+ Total/, options.count === null ? '' : options.count ?? `#${start} / ${universe.length} Total`);
  if (options.decorated) html = decorate(html, sk);
  return html.replace(AFTER_RESULTS_MARK, '');
}

function decorate(html: string, sk: Skeleton): string {
  const link = (ticker: string) => `<a href="${escape(sk.quoteHref(ticker))}" class="tab-link">${ticker}</a>`;
  const header = `<div class="header-tickers">Trending: ${link('SPY')} ${link('QQQ')} <span onclick="window.location='${escape(sk.quoteHref('DIA'))}'">DIA</span></div>`;
  const besideCount = ` | Sponsored: ${link('ADX')}`;
  const rowAfterResults = `<tr><td class="ad-row">Also watch ${link('ADW')}</td></tr>`;
  const footerAd = `<div class="ad-box"><a href="https://finviz.com/quote.ashx?t=ADY"><img src="${escape(chartSrc('ADY'))}" alt=""></a> ${link('ADZ')}</div>`;
  return html
    .replace(/(<body[^>]*>)/i, `$1${header}`)
    .replace(/(save as portfolio<\/a>)/, `$1${besideCount}`)
    .replace(AFTER_RESULTS_MARK, rowAfterResults)
    .replace(/(<\/body>)/i, `${footerAd}$1`);
}
