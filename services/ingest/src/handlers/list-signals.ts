import { z } from 'zod';
import { errorResponse, SideSchema, SignalStatusSchema, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { Prisma } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
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

/** The cursor is the last item's (received_at, id): stable under concurrent inserts. */
function encodeCursor(receivedAt: Date, id: string): string {
  return Buffer.from(`${receivedAt.toISOString()}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { receivedAt: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const receivedAt = new Date(at);
  return id && !Number.isNaN(receivedAt.getTime()) ? { receivedAt, id } : null;
}

/** GET /signals — newest first, filtered, paged by cursor. */
export function listSignals(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const parsed = ListQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
      return errorResponse(400, 'invalid_query', `Invalid query: ${details.map((d) => d.field).join(', ')}`, details);
    }
    const query = parsed.data;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && !cursor) return errorResponse(400, 'invalid_query', 'Invalid query: cursor', [{ field: 'cursor', message: 'not a cursor this API gave out' }]);

    const where: Prisma.SignalWhereInput = {
      status: query.status,
      ticker: query.ticker,
      side: query.side,
      receivedAt: { gte: query.from ? new Date(query.from) : undefined, lte: query.to ? new Date(query.to) : undefined },
    };
    if (cursor) {
      where.OR = [{ receivedAt: { lt: cursor.receivedAt } }, { receivedAt: cursor.receivedAt, id: { lt: cursor.id } }];
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
