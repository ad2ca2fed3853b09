import type { HttpResponse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';

/** GET /positions — open positions, derived from delivered BUY (opens) and SELL (closes) signals. */
export function listPositions(ctx: IngestContext) {
  return async (): Promise<HttpResponse> => {
    const rows = await ctx.prisma.position.findMany({ orderBy: { openedAt: 'asc' } });
    return { status: 200, body: rows.map((p) => ({ ticker: p.ticker, opened_at: p.openedAt.toISOString(), last_price: p.lastPrice })) };
  };
}
