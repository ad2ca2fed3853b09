import type { Pool } from 'pg';
import { deploymentOf } from '@tsp/core';
import type { SignalView } from './signal-view';

/** What GET /signals and the exports filter on (status `queued` is not in Postgres: see ingest). */
export interface SignalFilter {
  status?: string;
  ticker?: string;
  side?: string;
  /** A rejection's or a dead delivery's reason. */
  reason?: string;
  /** source | manual */
  kind?: string;
  from?: Date;
  to?: Date;
}

/** Where a page starts: after the signal (receivedAt, id) the previous page ended with. */
export interface SignalCursor {
  at: Date;
  id: string;
}

export interface SignalPage {
  views: SignalView[];
  /** The last row's place, to ask for the page after it; null when no rows follow. */
  next: SignalCursor | null;
}

/** Filters that are one column's equality, and the column each names. */
const EQUALITY_COLUMNS = { status: 'status', ticker: 'ticker', side: 'side', reason: 'reason', kind: 'kind' } as const;

interface SignalListRow {
  id: string;
  kind: string;
  ticker: string;
  side: string;
  price: number | null;
  time: Date;
  received_at: Date;
  status: string;
  reason: string | null;
  basis: string | null;
  rank: number | null;
  snapshot_id: string | null;
  deliveries: { attempt: number; at: string; http_status: number | null; latency_ms: number; error: string | null }[];
}

/**
 * The one search over `signals`, newest first, in keyset pages on (received_at, id): stable under
 * concurrent inserts, where an offset would skip or repeat rows, and as cheap on the last page as on
 * the first. Each filter is an equality the indexes lead with (ticker, status, reason, kind), so a
 * page is a short backward index range whatever the table's size (see bench/console.js). A
 * deployment (KEY_PREFIX) sees its own signals and those written before signals were per
 * deployment.
 *
 * Plain SQL through pg, one statement with each row's deliveries aggregated in: the console pages
 * and searches interactively, and Prisma's per-query work was most of each answer's time.
 */
export async function searchSignals(pool: Pool, deployment: string, filter: SignalFilter, page: { limit: number; cursor?: SignalCursor | null }): Promise<SignalPage> {
  const params: unknown[] = [deploymentOf(deployment)];
  const param = (value: unknown) => `$${params.push(value)}`;
  const where = ['(s.deployment = $1 OR s.deployment IS NULL)'];
  for (const [field, column] of Object.entries(EQUALITY_COLUMNS)) {
    const value = filter[field as keyof typeof EQUALITY_COLUMNS];
    if (value !== undefined) where.push(`s.${column} = ${param(value)}`);
  }
  if (filter.from) where.push(`s.received_at >= ${param(filter.from)}`);
  if (filter.to) where.push(`s.received_at <= ${param(filter.to)}`);
  if (page.cursor) {
    const at = param(page.cursor.at);
    // The plain bound lets any index on received_at start its range at the cursor; the row
    // comparison breaks the tie among the rows of exactly that time.
    where.push(`s.received_at <= ${at}`, `(s.received_at, s.id) < (${at}, ${param(page.cursor.id)}::uuid)`);
  }
  const { rows } = await pool.query<SignalListRow>(`
    SELECT s.id, s.kind, s.ticker, s.side, s.price, s."time", s.received_at, s.status, s.reason, s.basis, s.rank, s.snapshot_id,
           COALESCE((SELECT json_agg(json_build_object('attempt', d.attempt, 'at', d.at, 'http_status', d.http_status,
                                                      'latency_ms', d.latency_ms, 'error', d.error) ORDER BY d.attempt)
                     FROM deliveries d WHERE d.signal_id = s.id), '[]') AS deliveries
    FROM signals s
    WHERE ${where.join(' AND ')}
    ORDER BY s.received_at DESC, s.id DESC
    LIMIT ${param(page.limit + 1)}`, params);
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { views: shown.map(viewOfListRow), next: rows.length > page.limit && last ? { at: last.received_at, id: last.id } : null };
}

function viewOfListRow(row: SignalListRow): SignalView {
  return {
    id: row.id,
    kind: row.kind,
    ticker: row.ticker,
    side: row.side,
    price: row.price,
    time: row.time.toISOString(),
    received_at: row.received_at.toISOString(),
    status: row.status,
    reason: row.reason,
    basis: row.basis,
    rank: row.rank,
    snapshot_id: row.snapshot_id,
    deliveries: row.deliveries.map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
  };
}

/**
 * Every signal the filter matches, newest first, one page of `pageSize` at a time: the caller
 * holds one page, never the whole result (an export of a year of signals). Starts after `first`,
 * a page the caller already read, when given.
 */
export async function* signalPages(pool: Pool, deployment: string, filter: SignalFilter, pageSize: number, first?: SignalPage): AsyncGenerator<SignalView[]> {
  let page = first ?? await searchSignals(pool, deployment, filter, { limit: pageSize });
  for (;;) {
    if (page.views.length) yield page.views;
    if (!page.next) return;
    page = await searchSignals(pool, deployment, filter, { limit: pageSize, cursor: page.next });
  }
}
