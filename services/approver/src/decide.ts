import { isTopnStale, type Decision, type SellPolicy, type SignalJob, type TopnSet } from '@tsp/core';

export interface DecisionInputs {
  signal: SignalJob;
  topn: TopnSet | null;
  topnMaxAgeSec: number;
  sellPolicy: SellPolicy;
  /** SIGNAL_MAX_LAG_SEC: an entry older than this on arrival is stale; 0 turns the guard off. */
  maxLagSec: number;
  /**
   * Asked only for a SELL under the open_position policy, and only once every earlier signal of
   * its ticker has ended: the position as it is when the SELL's turn comes.
   */
  hasOpenPosition: (ticker: string) => Promise<boolean>;
  now: number;
}

/** Whether a signal's decision depends on the position it finds: it is then decided only at its turn. */
export function decidedAtTurn(signal: SignalJob, sellPolicy: SellPolicy): boolean {
  return signal.kind === 'source' && signal.side === 'SELL' && sellPolicy === 'open_position';
}

/**
 * An entry (a BUY) fired longer ago than its allowed lag trades as if it were new: refuse it. The
 * alert's own max_lag wins over SIGNAL_MAX_LAG_SEC; an alert without a time is not judged; an exit
 * is never refused for lag (closing late beats holding an unintended position).
 */
function isStaleEntry(signal: SignalJob, maxLagSec: number): boolean {
  const allowed = signal.maxLagSec ?? maxLagSec;
  return signal.side === 'BUY' && allowed > 0 && signal.lagSec !== undefined && signal.lagSec > allowed;
}

/** BUY (and SELL under SELL_POLICY=topn): the ticker's rank in a fresh set must be ≤ top_n. */
function decideByTopn(ticker: string, topn: TopnSet | null, maxAgeSec: number, now: number): Decision {
  if (!topn) return { approved: false, reason: 'topn_unavailable', rank: null, snapshotId: null };
  const index = topn.tickers.indexOf(ticker);
  const rank = index >= 0 ? index + 1 : null;
  // Fail closed: an old set may no longer say what the screener shows.
  if (isTopnStale(topn, maxAgeSec, now)) return { approved: false, reason: 'topn_stale', rank, snapshotId: topn.snapshot_id };
  if (rank !== null && rank <= topn.top_n) return { approved: true, basis: 'topn', rank, snapshotId: topn.snapshot_id };
  return { approved: false, reason: 'not_in_topn', rank: null, snapshotId: topn.snapshot_id };
}

/** The approval rule of the contract, in one place. */
export async function decide(inputs: DecisionInputs): Promise<Decision> {
  const { signal, topn, topnMaxAgeSec, sellPolicy, now } = inputs;
  const snapshotId = topn?.snapshot_id ?? null;
  if (signal.kind === 'manual') return { approved: true, basis: 'manual', rank: null, snapshotId };
  if (isStaleEntry(signal, inputs.maxLagSec)) return { approved: false, reason: 'stale', rank: null, snapshotId };
  if (signal.side === 'BUY' || sellPolicy === 'topn') return decideByTopn(signal.ticker, topn, topnMaxAgeSec, now);
  // An exit must never be blocked by the Top-N.
  if (sellPolicy === 'always') return { approved: true, basis: 'open_position', rank: null, snapshotId };
  return (await inputs.hasOpenPosition(signal.ticker))
    ? { approved: true, basis: 'open_position', rank: null, snapshotId }
    : { approved: false, reason: 'no_open_position', rank: null, snapshotId };
}
