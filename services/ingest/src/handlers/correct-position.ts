import { errorResponse, requestLogger, unavailableResponse, type HttpRequest, type HttpResponse, type OpenPosition } from '@tsp/core';
import type { CorrectionOutcome } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import type { OpenPositionSchema } from '../api-schemas';
import type { z } from 'zod';

const view = (p: OpenPosition | null) => (p ? { ticker: p.ticker, opened_at: p.openedAt, last_price: p.lastPrice } : null);

/** The book is in Redis (and loaded from Postgres when Redis lost it): either being down leaves the position as it was. */
async function corrected(req: Pick<HttpRequest, 'requestId'>, ctx: IngestContext, ticker: string, change: () => Promise<CorrectionOutcome>): Promise<CorrectionOutcome | HttpResponse> {
  try {
    return await change();
  } catch (error) {
    requestLogger(ctx.logger, req.requestId).warn('could not correct a position', { ticker, error: (error as Error).message });
    return unavailableResponse('Redis or Postgres is unavailable; the position was not changed');
  }
}

/**
 * POST /positions/:ticker/open {"price"?} — opens the ticker's position without a trade (the broker
 * holds it, tsp does not know): SELLs of it then pass under SELL_POLICY=open_position. 409 when open.
 */
export function openPosition(ctx: IngestContext) {
  return async (req: HttpRequest<unknown, z.infer<typeof OpenPositionSchema>>): Promise<HttpResponse> => {
    const { ticker } = req.params;
    const result = await corrected(req, ctx, ticker, () => ctx.positionCorrections.open(ticker, req.body.price ?? null));
    if ('status' in result) return result;
    if (!result.changed) {
      return errorResponse(409, 'already_open', `${ticker} already has an open position (opened ${result.current?.openedAt}); nothing changed`, [{ position: view(result.current) }]);
    }
    requestLogger(ctx.logger, req.requestId).info('position opened by hand', { ticker, by: req.principal });
    return { status: 200, body: { ticker, before: null, after: view(result.after) } };
  };
}

/**
 * POST /positions/:ticker/close — closes the ticker's position without a trade (the broker closed
 * it, tsp still holds it): SELLs of it are then refused no_open_position. 404 when none is open.
 */
export function closePosition(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const { ticker } = req.params;
    const result = await corrected(req, ctx, ticker, () => ctx.positionCorrections.close(ticker));
    if ('status' in result) return result;
    if (!result.changed) return errorResponse(404, 'not_open', `${ticker} has no open position; nothing changed`);
    requestLogger(ctx.logger, req.requestId).info('position closed by hand', { ticker, by: req.principal });
    return { status: 200, body: { ticker, before: view(result.before), after: null } };
  };
}
