import type { CheerioAPI } from 'cheerio';

/** An element of a parsed page (domhandler's Element, which cheerio does not re-export). */
export type PageElement = ReturnType<ReturnType<CheerioAPI['root']>['children']>[number];

/** Quote pages across Finviz's URL styles: quote.ashx?t= (≤2025), quote?t= (2026), stock?t= (2026-07). */
const QUOTE_PATH = /(?:^|\/)(?:quote(?:\.ashx)?|stock)$/i;
/** Chart images: chart.ashx?t= on finviz.com or its chart hosts (charts2-node.finviz.com, ...). */
const CHART_PATH = /(?:^|\/)chart(?:\.ashx)?$/i;
/** The quoted strings of an onclick handler: window.location='quote.ashx?t=AAPL&...'. */
const QUOTED = /(['"])((?:(?!\1).)*)\1/g;

/**
 * The ticker an element names by what it does, not by how it is styled: a link to the ticker's
 * quote page, an onclick that navigates to one (the tickers-only view's spans), a chart image of
 * it (the charts view), or Finviz's own `data-boxover-ticker` attribute. The raw `t` value, or
 * null when the element names none.
 */
export function quoteReference(element: PageElement): string | null {
  const attributes = element.attribs;
  if (attributes['data-boxover-ticker']?.trim()) return attributes['data-boxover-ticker'].trim();
  if (attributes.href && (element.name === 'a' || element.name === 'area')) {
    const ticker = tickerParam(attributes.href, QUOTE_PATH);
    if (ticker) return ticker;
  }
  if (attributes.onclick) {
    for (const [, , target] of attributes.onclick.matchAll(QUOTED)) {
      const ticker = tickerParam(target, QUOTE_PATH);
      if (ticker) return ticker;
    }
  }
  if (element.name === 'img' && attributes.src) return tickerParam(attributes.src, CHART_PATH);
  return null;
}

/** The `t` parameter of a link to a page at `path`; a list (`t=A,B`, a screener of tickers) is not one ticker. */
export function tickerParam(href: string, path: RegExp): string | null {
  let url: URL;
  try {
    url = new URL(href.replace(/&amp;/g, '&'), 'https://finviz.com/');
  } catch {
    return null;
  }
  if (!path.test(url.pathname)) return null;
  const ticker = url.searchParams.get('t')?.trim();
  return ticker && !ticker.includes(',') ? ticker : null;
}

/** The `t` of a link to a quote page. */
export function quoteLinkTicker(href: string): string | null {
  return tickerParam(href, QUOTE_PATH);
}
