import { SignalJobSchema, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { Prisma } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import type { SignalListQuery } from '../api-schemas';
import { decodeCursor, encodeCursor, INVALID_CURSOR } from '../page-cursor';
import { viewOfQueuedJob, viewOfRow } from '../signal-view';

/** Undecided signals live only as jobs: waiting, parked for their turn, or being decided. */
const UNDECIDED_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;

/** GET /signals — newest first, filtered, paged by cursor. */
export function listSignals(ctx: IngestContext) {
  return async (req: HttpRequest<SignalListQuery>): Promise<HttpResponse> => {
    const query = req.query;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && !cursor) return INVALID_CURSOR;
    if (query.status === 'queued') return listQueued(ctx, query);

    const where: Prisma.SignalWhereInput = {
      status: query.status,
      ticker: query.ticker,
      side: query.side,
      receivedAt: { gte: query.from ? new Date(query.from) : undefined, lte: query.to ? new Date(query.to) : undefined },
      // This deployment's signals (and those written before signals were per deployment).
      AND: [{ OR: [{ deployment: ctx.config.keyPrefix }, { deployment: null }] }],
    };
    if (cursor) {
      where.OR = [{ receivedAt: { lt: cursor.at } }, { receivedAt: cursor.at, id: { lt: cursor.id } }];
    }
    const rows = await ctx.prisma.signal.findMany({
      where,
      include: { deliveries: true },
      orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      status: 200,
      body: { items: page.map(viewOfRow), next_cursor: rows.length > query.limit && last ? encodeCursor(last.receivedAt, last.id) : null },
    };
  };
}

/**
 * status=queued: the audit trail's rows are written when a signal is decided, so the signals not
 * decided yet are read from the queue itself (at most `limit`, newest first, one page).
 */
async function listQueued(ctx: IngestContext, query: SignalListQuery): Promise<HttpResponse> {
  const jobs = await ctx.signalsQueue.getJobs([...UNDECIDED_STATES], 0, query.limit - 1, false);
  const from = query.from ? Date.parse(query.from) : -Infinity;
  const to = query.to ? Date.parse(query.to) : Infinity;
  const items = jobs
    .map((job) => SignalJobSchema.safeParse(job?.data))
    .flatMap((parsed) => (parsed.success ? [parsed.data] : []))
    .filter((s) => (!query.ticker || s.ticker === query.ticker) && (!query.side || s.side === query.side))
    .filter((s) => Date.parse(s.receivedAt) >= from && Date.parse(s.receivedAt) <= to)
    .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt) || b.id.localeCompare(a.id))
    .slice(0, query.limit)
    .map(viewOfQueuedJob);
  return { status: 200, body: { items, next_cursor: null } };
}
