import { isTopnStale, type Decision, type SellPolicy, type SignalJob, type TopnSet } from '@tsp/core';

export interface DecisionInputs {
  signal: SignalJob;
  topn: TopnSet | null;
  topnMaxAgeSec: number;
  sellPolicy: SellPolicy;
  /** Asked only for a SELL under the open_position policy. */
  hasOpenPosition: (ticker: string) => Promise<boolean>;
  now: number;
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
  if (signal.kind === 'manual') return { approved: true, basis: 'manual', rank: null, snapshotId: topn?.snapshot_id ?? null };
  if (signal.side === 'BUY' || sellPolicy === 'topn') return decideByTopn(signal.ticker, topn, topnMaxAgeSec, now);
  // An exit must never be blocked by the Top-N.
  const snapshotId = topn?.snapshot_id ?? null;
  if (sellPolicy === 'always') return { approved: true, basis: 'open_position', rank: null, snapshotId };
  return (await inputs.hasOpenPosition(signal.ticker))
    ? { approved: true, basis: 'open_position', rank: null, snapshotId }
    : { approved: false, reason: 'no_open_position', rank: null, snapshotId };
}
