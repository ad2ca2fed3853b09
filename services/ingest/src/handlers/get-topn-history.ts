import { deploymentOf, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { Prisma } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import type { TopnHistoryQuery } from '../api-schemas';
import { decodeCursor, encodeCursor, INVALID_CURSOR } from '../page-cursor';

/**
 * GET /finviz/topn/history?from=&to=&limit=&cursor= — each changed Top-N set the screener
 * published, newest first, with its snapshot_id (the id every decision records), so "why was
 * this rejected at 10:02?" is answered by the set in force then.
 */
export function getTopnHistory(ctx: IngestContext) {
  return async (req: HttpRequest<TopnHistoryQuery>): Promise<HttpResponse> => {
    const query = req.query;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && !cursor) return INVALID_CURSOR;

    const where: Prisma.TopnSnapshotWhereInput = {
      // This deployment's sets (rows from before the column existed belong to whoever reads them).
      OR: [{ deployment: deploymentOf(ctx.config.keyPrefix) }, { deployment: null }],
      fetchedAt: { gte: query.from ? new Date(query.from) : undefined, lte: query.to ? new Date(query.to) : undefined },
    };
    if (cursor) {
      where.AND = [{ OR: [{ fetchedAt: { lt: cursor.at } }, { fetchedAt: cursor.at, id: { lt: cursor.id } }] }];
    }
    const rows = await ctx.prisma.topnSnapshot.findMany({ where, orderBy: [{ fetchedAt: 'desc' }, { id: 'desc' }], take: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      status: 200,
      body: {
        items: page.map((row) => ({
          snapshot_id: row.id, tickers: row.tickers, top_n: row.topN, fetched_at: row.fetchedAt.toISOString(), source: row.source,
          duplicates_dropped: row.duplicatesDropped,
        })),
        next_cursor: rows.length > query.limit && last ? encodeCursor(last.fetchedAt, last.id) : null,
      },
    };
  };
}
