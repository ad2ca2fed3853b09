import { randomUUID } from 'node:crypto';
import type { OutboundBody, Side, SignalJob } from '@tsp/core';

/** One bad field of an incoming signal, named so the sender can fix its alert template. */
export interface FieldError {
  field: string;
  message: string;
}

export type NormaliseResult =
  | { ok: true; signal: Omit<SignalJob, 'id' | 'receivedAt' | 'idempotencyKey'> }
  | { ok: false; errors: FieldError[] };

const BUY_WORDS = new Set(['buy', 'long', 'enter']);
const SELL_WORDS = new Set(['sell', 'short', 'exit', 'close', 'flat']);
const TICKER_PATTERN = /^[A-Z0-9][A-Z0-9-]{0,19}$/;
/** Epoch values below this are seconds, above it milliseconds (1e11 s is the year 5138). */
const EPOCH_SECONDS_LIMIT = 1e11;

/** `NASDAQ:AAPL` → `AAPL`; `brk.b` / `BRK/B` → `BRK-B`, as Finviz writes it. */
export function normaliseTicker(raw: string): string {
  const withoutExchange = raw.includes(':') ? raw.slice(raw.lastIndexOf(':') + 1) : raw;
  return withoutExchange.trim().toUpperCase().replace(/[./]/g, '-');
}

/** A normalised ticker as Finviz writes them: letters, digits and "-". */
export function isTicker(ticker: string): boolean {
  return TICKER_PATTERN.test(ticker);
}

export function normaliseSide(raw: string): Side | null {
  const word = raw.trim().toLowerCase();
  if (BUY_WORDS.has(word)) return 'BUY';
  if (SELL_WORDS.has(word)) return 'SELL';
  return null;
}

function normalisePrice(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw > 0 ? raw : null;
  if (typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$|^\s*\.\d+\s*$/.test(raw)) {
    const value = Number(raw);
    return value > 0 ? value : null;
  }
  return null;
}

/** ISO-8601, or epoch seconds / milliseconds (number or numeric string). */
function normaliseTime(raw: unknown): string | null {
  const epoch = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : null;
  if (epoch !== null) {
    if (!Number.isFinite(epoch) || epoch <= 0) return null;
    const ms = epoch < EPOCH_SECONDS_LIMIT ? epoch * 1000 : epoch;
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? null : date.toISOString();
  }
  if (typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw.trim())) {
    const ms = Date.parse(raw.trim());
    return Number.isNaN(ms) ? null : new Date(ms).toISOString();
  }
  return null;
}

/**
 * Validates and normalises a source signal. Every bad field is reported at once; fields tsp does
 * not know pass through unchanged to the destination, except `secret`, which is never kept.
 */
export function normaliseSignal(input: Record<string, unknown>, now: Date): NormaliseResult {
  const errors: FieldError[] = [];
  const { secret: _secret, ticker: rawTicker, side: rawSide, action: rawAction, price: rawPrice, time: rawTime, ...passthrough } = input;

  let ticker = '';
  if (typeof rawTicker !== 'string' || rawTicker.trim() === '') {
    errors.push({ field: 'ticker', message: 'ticker is required and must be a string, e.g. "AAPL" or "NASDAQ:AAPL"' });
  } else {
    ticker = normaliseTicker(rawTicker);
    if (!isTicker(ticker)) {
      errors.push({ field: 'ticker', message: `"${rawTicker}" is not a ticker (letters, digits, ".", "/" or "-")` });
    }
  }

  // `side` wins; TradingView strategies send `action` ({{strategy.order.action}}) instead.
  const sideField = rawSide !== undefined ? 'side' : 'action';
  const sideValue = rawSide !== undefined ? rawSide : rawAction;
  let side: Side | null = null;
  if (sideValue === undefined) {
    errors.push({ field: 'side', message: 'side (or action) is required: BUY or SELL' });
  } else if (typeof sideValue !== 'string' || (side = normaliseSide(sideValue)) === null) {
    errors.push({ field: sideField, message: `${sideField} must be BUY or SELL (or long/enter, short/exit/close/flat)` });
  }
  if (rawAction !== undefined && typeof rawAction !== 'string') {
    errors.push({ field: 'action', message: 'action must be a string' });
  }

  let price: number | undefined;
  if (rawPrice !== undefined && rawPrice !== null && rawPrice !== '') {
    const value = normalisePrice(rawPrice);
    if (value === null) errors.push({ field: 'price', message: 'price must be a number greater than 0' });
    else price = value;
  }

  let time = now.toISOString();
  if (rawTime !== undefined && rawTime !== null && rawTime !== '') {
    const value = normaliseTime(rawTime);
    if (value === null) errors.push({ field: 'time', message: 'time must be ISO-8601 or epoch seconds/milliseconds' });
    else time = value;
  }

  if (errors.length > 0 || side === null) return { ok: false, errors };

  const action = typeof rawAction === 'string' ? rawAction : side.toLowerCase();
  const body: OutboundBody = { ...passthrough, ticker, side, action, time };
  if (price !== undefined) body.price = price;
  return { ok: true, signal: { kind: 'source', ticker, side, action, price, time, body } };
}

export function newSignalId(): string {
  return randomUUID();
}
