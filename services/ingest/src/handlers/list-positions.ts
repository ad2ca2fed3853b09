import type { HttpResponse } from '@tsp/core';
import { openPositions } from '@tsp/db';
import type { IngestContext } from '../ingest-context';

/** GET /positions — open positions: a delivered BUY opens one, a delivered SELL closes it. */
export function listPositions(ctx: IngestContext) {
  return async (): Promise<HttpResponse> => {
    const positions = await openPositions(ctx.positions, ctx.prisma);
    return { status: 200, body: positions.map((p) => ({ ticker: p.ticker, opened_at: p.openedAt, last_price: p.lastPrice })) };
  };
}
