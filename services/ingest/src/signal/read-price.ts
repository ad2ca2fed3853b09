/**
 * A signal's optional `price`. It is forwarded to the destination and remembered as the last
 * price for manual exits, so it must be a real positive amount: a non-finite number (JSON's
 * `1e999`, a 400-digit string) or an empty string from an unfilled template never gets through.
 */

export type PriceResult = { ok: true; price: number | undefined } | { ok: false; message: string };

/** A plain decimal: "150", "150.25", ".5" (what TradingView's {{close}} writes). */
const DECIMAL_TEXT = /^\s*(\d+(\.\d+)?|\.\d+)\s*$/;

/** undefined or null: no price. A number or a decimal string, finite and > 0: the price. */
export function readPrice(raw: unknown): PriceResult {
  if (raw === undefined || raw === null) return { ok: true, price: undefined };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && DECIMAL_TEXT.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isFinite(value) && value > 0) return { ok: true, price: value };
  return { ok: false, message: 'price must be a finite number greater than 0, or a decimal string of one such as "150.25" (null or no price means none)' };
}
