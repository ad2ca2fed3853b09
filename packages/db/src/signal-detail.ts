import type { PrismaClient, TopnSnapshot } from '../generated/client';
import { viewOfSignalRow, type SignalView } from './signal-view';

/** One ticker of the Top-N set a signal was judged against, in ranked order. */
export interface SnapshotTickerView {
  rank: number;
  ticker: string;
  /** The ticker of the signal this set judged: what the console highlights. */
  is_signal_ticker: boolean;
}

/** The Top-N set a signal was judged against (or admitted by, for a late approval). */
export interface JudgedSnapshotView {
  snapshot_id: string;
  fetched_at: string;
  top_n: number;
  source: string;
  tickers: SnapshotTickerView[];
}

/** GET /signals/:id: a signal's whole life plus what the console's detail view shows beside it. */
export interface SignalDetail extends SignalView {
  /** The JSON object as the sender posted it, without `secret`; null for manual exits and older rows. */
  received_body: Record<string, unknown> | null;
  /** Null when it was judged without a set (a SELL by its position, topn_unavailable) or the set is no longer stored. */
  snapshot: JudgedSnapshotView | null;
}

export function viewOfSnapshot(snapshot: Pick<TopnSnapshot, 'id' | 'fetchedAt' | 'topN' | 'source' | 'tickers'>, signalTicker: string): JudgedSnapshotView {
  return {
    snapshot_id: snapshot.id,
    fetched_at: snapshot.fetchedAt.toISOString(),
    top_n: snapshot.topN,
    source: snapshot.source,
    tickers: snapshot.tickers.map((ticker, i) => ({ rank: i + 1, ticker, is_signal_ticker: ticker === signalTicker })),
  };
}

/** The stored Top-N set of this id, with `ticker` marked; null when there is none. */
export async function findJudgedSnapshot(prisma: PrismaClient, snapshotId: string | null, ticker: string): Promise<JudgedSnapshotView | null> {
  if (!snapshotId) return null;
  const snapshot = await prisma.topnSnapshot.findUnique({ where: { id: snapshotId } });
  return snapshot ? viewOfSnapshot(snapshot, ticker) : null;
}

/** A signal's audit row with its deliveries and the Top-N set it was judged on; null when it has no row (yet). */
export async function findSignalDetail(prisma: PrismaClient, id: string): Promise<SignalDetail | null> {
  const row = await prisma.signal.findUnique({ where: { id }, include: { deliveries: true } });
  if (!row) return null;
  return {
    ...viewOfSignalRow(row),
    received_body: isObject(row.receivedBody) ? row.receivedBody : null,
    snapshot: await findJudgedSnapshot(prisma, row.snapshotId, row.ticker),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
