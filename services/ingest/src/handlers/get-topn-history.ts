import { z } from 'zod';
import { unavailableResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { Prisma } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { decodeCursor, encodeCursor, INVALID_CURSOR, invalidQuery } from '../page-cursor';

const HistoryQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

/**
 * GET /finviz/topn/history?from=&to=&limit=&cursor= — each changed Top-N set the screener
 * published, newest first, with its snapshot_id (the id every decision records), so "why was
 * this rejected at 10:02?" is answered by the set in force then.
 */
export function getTopnHistory(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const parsed = HistoryQuerySchema.safeParse(req.query);
    if (!parsed.success) return invalidQuery(parsed.error.issues);
    const query = parsed.data;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && !cursor) return INVALID_CURSOR;

    const where: Prisma.TopnSnapshotWhereInput = {
      // This deployment's sets (rows from before the column existed belong to whoever reads them).
      OR: [{ deployment: ctx.config.keyPrefix }, { deployment: null }],
      fetchedAt: { gte: query.from ? new Date(query.from) : undefined, lte: query.to ? new Date(query.to) : undefined },
    };
    if (cursor) {
      where.AND = [{ OR: [{ fetchedAt: { lt: cursor.at } }, { fetchedAt: cursor.at, id: { lt: cursor.id } }] }];
    }
    let rows;
    try {
      rows = await ctx.prisma.topnSnapshot.findMany({ where, orderBy: [{ fetchedAt: 'desc' }, { id: 'desc' }], take: query.limit + 1 });
    } catch (error) {
      ctx.logger.warn('could not read the Top-N history', { error: (error as Error).message });
      return unavailableResponse('Postgres is unavailable; the history cannot be read');
    }
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
