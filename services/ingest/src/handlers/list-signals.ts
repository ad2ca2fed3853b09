import { SignalJobSchema, type HttpRequest, type HttpResponse } from '@tsp/core';
import { searchSignals } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { signalFilterOf, type SignalListQuery } from '../api-schemas';
import { decodeCursor, encodeCursor, INVALID_CURSOR } from '../page-cursor';
import { viewOfQueuedJob } from '../signal-view';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Undecided signals live only as jobs: waiting, parked for their turn, or being decided. */
const UNDECIDED_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;

/** GET /signals — newest first, filtered, paged by cursor. */
export function listSignals(ctx: IngestContext) {
  return async (req: HttpRequest<SignalListQuery>): Promise<HttpResponse> => {
    const query = req.query;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    // Signal ids are UUIDs: anything else was not given out by this route (and Postgres would refuse it).
    if (query.cursor && !(cursor && UUID.test(cursor.id))) return INVALID_CURSOR;
    if (query.status === 'queued') return listQueued(ctx, query);

    const page = await searchSignals(ctx.searchPool, ctx.config.keyPrefix, signalFilterOf(query), { limit: query.limit, cursor });
    return { status: 200, body: { items: page.views, next_cursor: page.next ? encodeCursor(page.next.at, page.next.id) : null } };
  };
}

/**
 * status=queued: the audit trail's rows are written when a signal is decided, so the signals not
 * decided yet are read from the queue itself (at most `limit`, newest first, one page).
 */
async function listQueued(ctx: IngestContext, query: Omit<SignalListQuery, 'cursor'>): Promise<HttpResponse> {
  // A signal awaiting its decision has no reason yet.
  if (query.reason) return { status: 200, body: { items: [], next_cursor: null } };
  const jobs = await ctx.signalsQueue.getJobs([...UNDECIDED_STATES], 0, query.limit - 1, false);
  const from = query.from ? Date.parse(query.from) : -Infinity;
  const to = query.to ? Date.parse(query.to) : Infinity;
  const items = jobs
    .map((job) => SignalJobSchema.safeParse(job?.data))
    .flatMap((parsed) => (parsed.success ? [parsed.data] : []))
    .filter((s) => (!query.ticker || s.ticker === query.ticker) && (!query.side || s.side === query.side) && (!query.kind || s.kind === query.kind))
    .filter((s) => Date.parse(s.receivedAt) >= from && Date.parse(s.receivedAt) <= to)
    .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt) || b.id.localeCompare(a.id))
    .slice(0, query.limit)
    .map(viewOfQueuedJob);
  return { status: 200, body: { items, next_cursor: null } };
}
