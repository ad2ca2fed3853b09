import { z } from 'zod';
import { SideSchema, SignalStatusSchema, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { Prisma } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { decodeCursor, encodeCursor, INVALID_CURSOR, invalidQuery } from '../page-cursor';
import { viewOfRow } from '../signal-view';

const ListQuerySchema = z.object({
  status: SignalStatusSchema.optional(),
  ticker: z.string().trim().toUpperCase().optional(),
  side: z.string().trim().toUpperCase().pipe(SideSchema).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

/** GET /signals — newest first, filtered, paged by cursor. */
export function listSignals(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const parsed = ListQuerySchema.safeParse(req.query);
    if (!parsed.success) return invalidQuery(parsed.error.issues);
    const query = parsed.data;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && !cursor) return INVALID_CURSOR;

    const where: Prisma.SignalWhereInput = {
      status: query.status,
      ticker: query.ticker,
      side: query.side,
      receivedAt: { gte: query.from ? new Date(query.from) : undefined, lte: query.to ? new Date(query.to) : undefined },
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
