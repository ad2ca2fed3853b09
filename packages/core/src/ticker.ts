/**
 * The one ticker rule of tsp. A webhook's ticker and a Finviz ticker are compared as strings by
 * the approver, so both sides are read by this rule and nothing else: if they were normalised
 * differently, `BRK.B` from an alert would never meet `BRK-B` from the screener, and if the rule
 * were lax, a look-alike (Cyrillic А, a zero-width space) or a template leftover (`{{ticker}}`,
 * `undefined`) would become a "ticker" a real order is placed for.
 *
 * `NASDAQ:aapl` → `AAPL`; `BRK.B` and `BRK/B` → `BRK-B`, as Finviz writes it. The result always
 * matches TICKER_SHAPE: one symbol and at most one class suffix.
 */

export type TickerResult = { ok: true; ticker: string } | { ok: false; message: string };

/** A normalised ticker: up to 10 letters/digits, optionally "-" and a class of up to 4. */
const TICKER_SHAPE = /^[A-Z0-9]{1,10}(-[A-Z0-9]{1,4})?$/;
/**
 * What a raw ticker may hold at all. Checked before upper-casing, because toUpperCase() turns some
 * non-ASCII letters into ASCII ones (ſ → S, ﬀ → FF).
 */
const ALLOWED_CHARACTER = /[A-Za-z0-9:./-]/;
const EXCHANGE = /^[A-Za-z]+$/;
/** What an alert template writes when its placeholder had no value. */
const UNFILLED_VALUES = new Set(['UNDEFINED', 'NULL']);
const QUOTE_LENGTH = 24;

/** True when `value` is already a normalised ticker, as parseTicker returns it. */
export function isTicker(value: string): boolean {
  return TICKER_SHAPE.test(value);
}

/** Normalises a raw ticker, or says why it is not one. Surrounding spaces are ignored. */
export function parseTicker(raw: string): TickerResult {
  const text = raw.replace(/^ +| +$/g, '');
  if (text === '') return refuse(raw, 'is empty');
  if (text.includes('{{') || text.includes('}}')) return refuse(raw, 'is an alert template placeholder that was never filled in');

  const foreign = [...text].find((character) => !ALLOWED_CHARACTER.test(character));
  if (foreign !== undefined) return refuse(raw, `holds ${codePoint(foreign)}, which is not an ASCII letter, digit or separator (":", ".", "/", "-")`);

  const parts = text.split(':');
  if (parts.some((part) => UNFILLED_VALUES.has(part.toUpperCase()))) return refuse(raw, 'holds "undefined" or "null", what an alert template writes for a missing value');
  if (parts.length > 2) return refuse(raw, 'has more than one exchange prefix');
  const [exchange, symbol] = parts.length === 2 ? parts : [null, parts[0]];
  if (exchange === '') return refuse(raw, 'has an empty exchange prefix before ":"');
  if (exchange !== null && !EXCHANGE.test(exchange)) return refuse(raw, 'has an exchange prefix that is not letters only');

  const ticker = symbol.toUpperCase().replace(/[./]/g, '-');
  return isTicker(ticker) ? { ok: true, ticker } : refuse(raw, symbolProblem(ticker));
}

/** Why a symbol of letters, digits and "-" does not match TICKER_SHAPE. */
function symbolProblem(symbol: string): string {
  if (symbol === '') return 'has no symbol after the exchange prefix';
  const pieces = symbol.split('-');
  if (pieces[0] === '') return 'starts with a separator';
  if (pieces[pieces.length - 1] === '') return 'ends with a separator';
  if (pieces.includes('')) return 'has a doubled separator';
  if (pieces.length > 2) return 'has more than one class suffix';
  if (pieces[0].length > 10) return 'is longer than 10 characters before its class suffix';
  return 'has a class suffix longer than 4 characters';
}

function codePoint(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function refuse(raw: string, why: string): TickerResult {
  const quoted = JSON.stringify(raw.length > QUOTE_LENGTH ? `${raw.slice(0, QUOTE_LENGTH)}…` : raw);
  return { ok: false, message: `ticker ${quoted} ${why}` };
}
