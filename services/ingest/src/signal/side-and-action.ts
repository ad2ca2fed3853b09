import type { Side } from '@tsp/core';
import type { FieldError } from './field-error';

/**
 * A signal's side, from its `side` and `action` fields, which must not contradict each other: an
 * alert saying `side: buy, action: exit` is a broken template, and guessing which field is right
 * would place a trade the trader did not mean.
 */

export type SideAndAction = { ok: true; side: Side; action: string } | { ok: false; errors: FieldError[] };

/** The words `side` accepts (contract section 4). Maps, not object literals: "constructor" is no side. */
const SIDE_WORDS = new Map<string, Side>([
  ['buy', 'BUY'], ['long', 'BUY'], ['enter', 'BUY'],
  ['sell', 'SELL'], ['short', 'SELL'], ['exit', 'SELL'], ['close', 'SELL'], ['flat', 'SELL'],
]);
/** The words `action` accepts: TradersPost's (buy, sell, exit, cancel, add) and the side words. `cancel` fits either side. */
const ACTION_WORDS = new Map<string, Side | 'either'>([...SIDE_WORDS, ['add', 'BUY'], ['cancel', 'either']]);

const SIDE_HELP = 'BUY or SELL (or long/enter, short/exit/close/flat), any case';
const ACTION_HELP = `one of ${[...ACTION_WORDS.keys()].join(', ')}, any case`;

function wordOf(raw: unknown): string | null {
  return typeof raw === 'string' ? raw.trim() : null;
}

/**
 * `side` wins as the field that says the side; without it the side comes from `action`
 * (TradingView's {{strategy.order.action}}). The action sent on is the source's own word, or the
 * side's when it sent none.
 */
export function readSideAndAction(rawSide: unknown, rawAction: unknown): SideAndAction {
  const sideWord = wordOf(rawSide);
  const actionWord = wordOf(rawAction);
  const side = sideWord === null ? undefined : SIDE_WORDS.get(sideWord.toLowerCase());
  const actionSide = actionWord === null ? undefined : ACTION_WORDS.get(actionWord.toLowerCase());

  const errors: FieldError[] = [];
  if (rawSide !== undefined && side === undefined) errors.push({ field: 'side', message: `side must be ${SIDE_HELP}` });
  if (rawAction !== undefined && actionSide === undefined) errors.push({ field: 'action', message: `action must be ${ACTION_HELP}` });
  if (errors.length > 0) return { ok: false, errors };

  if (side !== undefined && actionSide !== undefined && actionSide !== 'either' && actionSide !== side) {
    return {
      ok: false,
      errors: [
        { field: 'side', message: `side says ${side} but action "${actionWord}" is a ${actionSide} word` },
        { field: 'action', message: `action "${actionWord}" is a ${actionSide} word but side says ${side}` },
      ],
    };
  }
  const resolved = side ?? (actionSide === 'either' ? undefined : actionSide);
  if (resolved === undefined) {
    const why = actionSide === 'either' ? `action "${actionWord}" fits either side, so side is required` : 'side (or action) is required';
    return { ok: false, errors: [{ field: 'side', message: `${why}: ${SIDE_HELP}` }] };
  }
  return { ok: true, side: resolved, action: actionWord ?? resolved.toLowerCase() };
}
