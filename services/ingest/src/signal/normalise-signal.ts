import { randomUUID } from 'node:crypto';
import { parseTicker, type OutboundBody, type SignalJob } from '@tsp/core';
import type { FieldError } from './field-error';
import { inspectValues } from './inspect-values';
import { readPrice } from './read-price';
import { readSideAndAction } from './side-and-action';
import { readTime } from './read-time';
import { readMaxLag } from './read-max-lag';

export type NormaliseResult =
  | { ok: true; signal: Omit<SignalJob, 'id' | 'receivedAt' | 'idempotencyKey'> }
  | { ok: false; errors: FieldError[] };

/** The top-level fields tsp reads itself; every other field passes through to the destination. */
const OWN_FIELDS: ReadonlySet<string> = new Set(['ticker', 'side', 'action', 'price', 'time', 'secret', 'max_lag']);

/**
 * Validates and normalises a source signal. Every bad field is reported at once, each once; fields
 * tsp does not know pass through unchanged to the destination, except `secret`, which is never
 * kept, and `max_lag`, which is tsp's own (the guard against late alerts).
 */
export function normaliseSignal(input: Record<string, unknown>, now: Date): NormaliseResult {
  const { secret: _secret, max_lag: rawMaxLag, ticker: rawTicker, side: rawSide, action: rawAction, price: rawPrice, time: rawTime, ...passthrough } = input;

  const ticker = typeof rawTicker === 'string'
    ? parseTicker(rawTicker)
    : { ok: false as const, message: 'ticker is required and must be a string, e.g. "AAPL" or "NASDAQ:AAPL"' };
  const sideAndAction = readSideAndAction(rawSide, rawAction);
  const price = readPrice(rawPrice);
  const time = readTime(rawTime, now);
  const maxLag = readMaxLag(rawMaxLag);

  const errors = oncePerField([
    ...inspectValues(input, OWN_FIELDS),
    ...(ticker.ok ? [] : [{ field: 'ticker', message: ticker.message }]),
    ...(sideAndAction.ok ? [] : sideAndAction.errors),
    ...(price.ok ? [] : [{ field: 'price', message: price.message }]),
    ...(time.ok ? [] : [{ field: 'time', message: time.message }]),
    ...(maxLag.ok ? [] : [{ field: 'max_lag', message: maxLag.message }]),
  ]);
  if (errors.length > 0 || !ticker.ok || !sideAndAction.ok || !price.ok || !time.ok || !maxLag.ok) return { ok: false, errors };

  const { side, action } = sideAndAction;
  const { secret: _dropped, ...receivedBody } = input;
  const body: OutboundBody = { ...passthrough, ticker: ticker.ticker, side, action, time: time.time };
  if (price.price !== undefined) body.price = price.price;
  // How late the alert arrived, by its own clock: judged only when it said when it fired.
  const lagSec = time.given ? (now.getTime() - Date.parse(time.time)) / 1000 : undefined;
  return {
    ok: true,
    signal: {
      kind: 'source', ticker: ticker.ticker, side, action, price: price.price, time: time.time, body, receivedBody,
      ...(lagSec !== undefined ? { lagSec } : {}), ...(maxLag.maxLagSec !== undefined ? { maxLagSec: maxLag.maxLagSec } : {}),
    },
  };
}

/** The first error of each field: a NUL in the ticker is one problem, not two. */
function oncePerField(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    if (seen.has(error.field)) return false;
    seen.add(error.field);
    return true;
  });
}

export function newSignalId(): string {
  return randomUUID();
}
