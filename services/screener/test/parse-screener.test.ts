import { parseScreener } from '../src/finviz/screener-page';
import { UnrecognisedPageError } from '../src/finviz/screener-errors';
import { CHALLENGE_PAGE, FIXTURE_PAGES, fixturePage, fixtureTickers, TOO_MANY_REQUESTS_PAGE } from './fixtures';
import { thrownBy } from '../../../test/support/helpers';

const expected = fixtureTickers();

/** A minimal screener page in the given markup, for cases no saved page shows. */
function page(headerCell: 'td' | 'th', rows: string[], count = `#1 / ${rows.length} Total`): string {
  return `<html><body><div id="screener-total" class="count-text">${count}</div>
    <table><tr><${headerCell}>No.</${headerCell}><${headerCell}>Ticker</${headerCell}><${headerCell}>Company</${headerCell}></tr>
    ${rows.join('\n')}</table></body></html>`;
}


describe('parsing a Finviz screener page', () => {
  it.each(FIXTURE_PAGES)('reads exactly the tickers of %s in page order', (name) => {
    const result = parseScreener(fixturePage(name));
    expect(result.tickers).toEqual(expected[name]);
  });

  it.each([
    ['finviz-screener-v111-2023.html', 146],
    ['finviz-screener-v111-2025.html', 10188],
    ['finviz-screener-v111-2026.html', 104],
  ])('reads the total count of %s', (name, total) => {
    expect(parseScreener(fixturePage(name))).toMatchObject({ total, firstRow: 1 });
  });

  it('prefers the cell\'s data-boxover-ticker over link text that reads e.g. "AAAPL"', () => {
    const html = page('th', [
      `<tr><td>1</td><td data-boxover-ticker="AAPL"><a class="company-ticker" href="stock?t=AAPL">A</a><a class="tab-link" href="stock?t=AAPL">AAPL</a></td><td>Apple</td></tr>`,
    ]);
    expect(parseScreener(html).tickers).toEqual(['AAPL']);
  });

  it('reads the ticker from a stock?t= link when the cell has no data attribute', () => {
    const html = page('td', [
      `<tr><td>1</td><td><a href="stock?t=BRK-B&amp;ty=c"><span>B</span>BRK-B</a></td><td>Berkshire</td></tr>`,
      `<tr><td>2</td><td><a href="/quote.ashx?t=MSFT">Microsoft Corp</a></td><td>Microsoft</td></tr>`,
    ]);
    expect(parseScreener(html).tickers).toEqual(['BRK-B', 'MSFT']);
  });

  it('falls back to the cell text when there is no ticker link', () => {
    expect(parseScreener(page('th', ['<tr><td>1</td><td> NVDA </td><td>Nvidia</td></tr>'])).tickers).toEqual(['NVDA']);
  });

  it('returns no tickers for a results table the page says holds 0 results', () => {
    expect(parseScreener(page('th', [], '#0 / 0 Total'))).toEqual({ tickers: [], total: 0, firstRow: 0 });
  });

  it('refuses an empty results table when the page does not say 0 results', () => {
    expect(() => parseScreener(page('th', [], ''))).toThrow(UnrecognisedPageError);
  });

  it('writes an old page\'s BRK.B as BRK-B, the way a webhook\'s ticker is written', () => {
    const html = page('td', [
      '<tr><td>1</td><td><a href="quote.ashx?t=BRK.B">BRK.B</a></td><td>Berkshire</td></tr>',
      '<tr><td>2</td><td>bf.b</td><td>Brown-Forman</td></tr>',
    ]);
    expect(parseScreener(html).tickers).toEqual(['BRK-B', 'BF-B']);
  });

  it.each([
    ['a Cyrillic look-alike', 'data-boxover-ticker="\u0410APL"'],
    ['two class suffixes', 'data-boxover-ticker="BRK.B.C"'],
    ['an 11-character symbol', 'data-boxover-ticker="ABCDEFGHIJK"'],
  ])('refuses a page whose ticker cell holds %s, saying which rule it breaks', (_name, attribute) => {
    const html = page('th', [`<tr><td>1</td><td ${attribute}>x</td><td>Company</td></tr>`]);
    expect(() => parseScreener(html)).toThrow(/row 1 .*ticker "/);
  });

  it('refuses a row whose ticker cell holds no ticker', () => {
    expect(() => parseScreener(page('th', ['<tr><td>1</td><td>Sign in to see more</td><td></td></tr>']))).toThrow(UnrecognisedPageError);
  });

  it('throws on a "Too Many Requests" page instead of reading zero tickers', () => {
    const error = thrownBy(() => parseScreener(TOO_MANY_REQUESTS_PAGE));
    expect(error).toBeInstanceOf(UnrecognisedPageError);
    expect((error as UnrecognisedPageError).looksLike).toBe('rate_limited');
  });

  it('throws on a Cloudflare "Just a moment..." page', () => {
    const error = thrownBy(() => parseScreener(CHALLENGE_PAGE));
    expect(error).toBeInstanceOf(UnrecognisedPageError);
    expect((error as UnrecognisedPageError).looksLike).toBe('challenge');
  });

  it('throws on any page without a results table', () => {
    expect(() => parseScreener('<html><body><table><tr><td>Symbol</td></tr><tr><td>AAPL</td></tr></table></body></html>')).toThrow(UnrecognisedPageError);
    expect(() => parseScreener('')).toThrow(UnrecognisedPageError);
  });
});
