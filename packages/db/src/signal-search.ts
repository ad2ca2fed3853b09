import type { Prisma, PrismaClient } from '../generated/client';
import { viewOfSignalRow, type SignalView } from './signal-view';

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

/**
 * The one search over `signals`, newest first, in keyset pages on (received_at, id): stable under
 * concurrent inserts, where an offset would skip or repeat rows, and as cheap on the last page as
 * on the first. A deployment (KEY_PREFIX) sees its own signals and those written before signals
 * were per deployment.
 */
export async function searchSignals(prisma: PrismaClient, deployment: string, filter: SignalFilter, page: { limit: number; cursor?: SignalCursor | null }): Promise<SignalPage> {
  const cursor = page.cursor ?? null;
  const where: Prisma.SignalWhereInput = {
    status: filter.status,
    ticker: filter.ticker,
    side: filter.side,
    reason: filter.reason,
    kind: filter.kind,
    // The cursor's time bounds the index range itself (received_at <= at); the id breaks the tie
    // among the few rows at exactly that time. As an OR alone it would be a filter over every row
    // the index scan passes, and later pages would cost more than the first.
    receivedAt: { gte: filter.from, lte: earlier(filter.to, cursor?.at) },
    AND: [{ OR: [{ deployment }, { deployment: null }] }],
  };
  if (cursor) where.OR = [{ receivedAt: { lt: cursor.at } }, { id: { lt: cursor.id } }];
  const rows = await prisma.signal.findMany({
    where,
    include: { deliveries: true },
    orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
    take: page.limit + 1,
  });
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { views: shown.map(viewOfSignalRow), next: rows.length > page.limit && last ? { at: last.receivedAt, id: last.id } : null };
}

function earlier(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a || !b) return a ?? b;
  return a < b ? a : b;
}

/**
 * Every signal the filter matches, newest first, one page of `pageSize` at a time: the caller
 * holds one page, never the whole result (an export of a year of signals). Starts after `first`,
 * a page the caller already read, when given.
 */
export async function* signalPages(prisma: PrismaClient, deployment: string, filter: SignalFilter, pageSize: number, first?: SignalPage): AsyncGenerator<SignalView[]> {
  let page = first ?? await searchSignals(prisma, deployment, filter, { limit: pageSize });
  for (;;) {
    if (page.views.length) yield page.views;
    if (!page.next) return;
    page = await searchSignals(prisma, deployment, filter, { limit: pageSize, cursor: page.next });
  }
}
