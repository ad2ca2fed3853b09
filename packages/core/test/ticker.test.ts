import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isTicker, parseTicker } from '../src/ticker';
// This one rule is what makes the screener's Top-N and a webhook's signal comparable, so one test
// below reads a ticker through both services' own entry points to prove they meet.
import { parseScreener } from '../../../services/screener/src/finviz/screener-page';
import { normaliseSignal } from '../../../services/ingest/src/signal/normalise-signal';

function refusal(raw: string): string {
  const result = parseTicker(raw);
  if (result.ok) throw new Error(`expected "${raw}" to be refused, got ${result.ticker}`);
  return result.message;
}

describe('the ticker rule', () => {
  it.each([
    ['AAPL', 'AAPL'],
    ['aapl', 'AAPL'],
    ['NASDAQ:AAPL', 'AAPL'],
    ['nyse:brk.b', 'BRK-B'],
    ['BRK.B', 'BRK-B'],
    ['BRK/B', 'BRK-B'],
    ['BRK-B', 'BRK-B'],
    [' MSFT ', 'MSFT'],
    ['NaN', 'NAN'],
    ['nan', 'NAN'],
    ['ABCDEFGHIJ', 'ABCDEFGHIJ'],
    ['ABCDEFGHIJ-WXYZ', 'ABCDEFGHIJ-WXYZ'],
    ['0700', '0700'],
  ])('reads %j as %s', (raw, ticker) => {
    expect(parseTicker(raw)).toEqual({ ok: true, ticker });
  });

  it.each([
    [':AAPL', /empty exchange prefix/],
    ['AAPL:', /no symbol/],
    ['AAPL-', /ends with a separator/],
    ['AAPL/', /ends with a separator/],
    ['.AAPL', /starts with a separator/],
    ['AAPL..B', /doubled separator/],
    ['AAPL.-B', /doubled separator/],
    ['NASDAQ:AAPL:X', /more than one exchange prefix/],
    ['BRK.B.C', /more than one class suffix/],
    ['N4SDAQ:AAPL', /exchange prefix .*letters/],
    ['ABCDEFGHIJK', /longer than 10/],
    ['BRK-ABCDE', /class suffix longer than 4/],
    ['', /empty/],
    ['   ', /empty/],
    ['AAPL B', /U\+0020/],
    ['A_B', /U\+005F/],
    ['$AAPL', /U\+0024/],
  ])('refuses %j, saying why', (raw, why) => {
    expect(refusal(raw)).toMatch(why);
  });

  it.each([
    ['Cyrillic А', '\u0410APL'],
    ['Cyrillic е in a suffix', 'BRK.\u0435'],
    ['full-width letters', '\uFF21\uFF21\uFF30\uFF2C'],
    ['a zero-width space', 'AA\u200BPL'],
    ['a trailing no-break space', 'AAPL\u00A0'],
    ['a leading byte-order mark', '\uFEFFAAPL'],
    ['the long s that upper-cases to S', '\u017FPY'],
    ['a ligature that upper-cases to FF', 'a\uFB00'],
    ['a NUL', 'AAPL\u0000'],
    ['a tab', 'AAPL\t'],
    ['a lone surrogate', 'AAPL\uD800'],
  ])('refuses a look-alike or invisible character: %s', (_name, raw) => {
    expect(refusal(raw)).toMatch(/not an ASCII letter, digit or separator/);
  });

  it.each(['undefined', 'UNDEFINED', 'null', 'Null', 'NASDAQ:undefined', 'undefined:AAPL', '{{ticker}}', 'NASDAQ:{{ticker}}', '{{ticker', 'ticker}}'])(
    'refuses the template leftover %j',
    (raw) => {
      expect(refusal(raw)).toMatch(/template/);
    },
  );

  it('quotes a long refused value only in part', () => {
    const message = refusal('X'.repeat(5000));
    expect(message.length).toBeLessThan(200);
  });

  it('calls a ticker only what the rule produces', () => {
    expect(isTicker('BRK-B')).toBe(true);
    expect(isTicker('AAPL')).toBe(true);
    expect(isTicker('brk-b')).toBe(false);
    expect(isTicker('BRK.B')).toBe(false);
    expect(isTicker('NASDAQ:AAPL')).toBe(false);
    expect(isTicker('ABCDEFGHIJK')).toBe(false);
    expect(isTicker('')).toBe(false);
  });

  it('accepts every ticker of the saved Finviz pages unchanged', () => {
    const pages: Record<string, string[]> = JSON.parse(readFileSync(path.resolve(__dirname, '../../../fixtures/finviz/tickers.json'), 'utf8'));
    const tickers = Object.values(pages).flat();
    expect(tickers.length).toBeGreaterThan(0);
    for (const ticker of tickers) expect(parseTicker(ticker)).toEqual({ ok: true, ticker });
  });

  it('makes a Finviz BRK-B and a webhook BRK.B meet as the same string', () => {
    const page = `<html><body><div id="screener-total">#1 / 2 Total</div><table>
      <tr><th>No.</th><th>Ticker</th></tr>
      <tr><td>1</td><td><a href="quote.ashx?t=BRK-B">BRK-B</a></td></tr>
      <tr><td>2</td><td><a href="quote.ashx?t=BF.B">BF.B</a></td></tr></table></body></html>`;
    const fromFinviz = parseScreener(page).tickers;
    const fromWebhook = ['NYSE:BRK.B', 'bf/b'].map((ticker) => {
      const result = normaliseSignal({ ticker, side: 'buy' }, new Date());
      return result.ok ? result.signal.ticker : result.errors;
    });
    expect(fromFinviz).toEqual(['BRK-B', 'BF-B']);
    expect(fromWebhook).toEqual(fromFinviz);
  });
});
