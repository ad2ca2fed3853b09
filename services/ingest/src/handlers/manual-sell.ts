import { errorResponse, parseTicker, redisKeys, requestLogger, unavailableResponse, type HttpRequest, type HttpResponse, type SignalJob } from '@tsp/core';
import { openPositions } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { newSignalId } from '../signal/normalise-signal';

/** The last price tsp saw for the ticker: its open position's, else the last source signal's (if still remembered). */
async function lastKnownPrice(ctx: IngestContext, ticker: string): Promise<number | undefined> {
  const positionPrice = await ctx.positions.lastPrice(ticker).catch(() => null);
  if (positionPrice !== null && Number.isFinite(positionPrice) && positionPrice > 0) return positionPrice;
  const seen = Number(await ctx.redis.get(redisKeys(ctx.config.keyPrefix).lastPrice(ticker)).catch(() => null));
  return Number.isFinite(seen) && seen > 0 ? seen : undefined;
}

/**
 * One manual exit: a SELL with action "exit", decided as `manual` (past the Top-N filter) and
 * taken ahead of queued signals of other tickers; behind earlier signals of its own ticker, like
 * any signal, so it closes whatever they opened.
 */
async function enqueueManualSell(ctx: IngestContext, ticker: string, requestId: string | undefined): Promise<string> {
  const now = new Date().toISOString();
  const price = await lastKnownPrice(ctx, ticker);
  const signal: SignalJob = {
    id: newSignalId(), kind: 'manual', ticker, side: 'SELL', action: 'exit', ...(price ? { price } : {}), time: now, receivedAt: now,
    body: { ticker, side: 'SELL', action: 'exit', ...(price ? { price } : {}), time: now },
  };
  const { id } = await ctx.intake.accept(signal, { urgent: true, requestId });
  ctx.received.add(ticker, undefined);
  requestLogger(ctx.logger, requestId).info('manual exit queued', { id, ticker, price });
  return id;
}

/** POST /sell/individual {"ticker", "token"} — one SELL for the ticker, past the Top-N filter (the token is the route's guard). */
export function sellIndividual(ctx: IngestContext) {
  return async (req: HttpRequest<unknown, Record<string, unknown>>): Promise<HttpResponse> => {
    const raw = req.body?.ticker;
    const parsed = typeof raw === 'string' ? parseTicker(raw) : null;
    if (!parsed?.ok) {
      const message = parsed && !parsed.ok ? parsed.message : 'ticker is required, e.g. "AAPL"';
      return errorResponse(400, 'invalid_signal', 'Invalid sell: ticker', [{ field: 'ticker', message }]);
    }
    try {
      const id = await enqueueManualSell(ctx, parsed.ticker, req.requestId);
      return { status: 202, body: { ids: [id], tickers: [parsed.ticker] } };
    } catch (error) {
      requestLogger(ctx.logger, req.requestId).warn('could not queue a manual exit', { ticker: parsed.ticker, error: (error as Error).message });
      return unavailableResponse('Redis is unavailable; the exit was not queued, send it again');
    }
  };
}

/** POST /sell/all {"token"} — one SELL for every open position. */
export function sellAll(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const logger = requestLogger(ctx.logger, req.requestId);
    let tickers: string[];
    try {
      tickers = (await openPositions(ctx.positions, ctx.prisma)).map((p) => p.ticker).sort();
    } catch (error) {
      logger.warn('could not read positions for sell/all', { error: (error as Error).message });
      return unavailableResponse('Open positions cannot be read right now; nothing was queued');
    }
    const ids: string[] = [];
    const queued: string[] = [];
    try {
      for (const ticker of tickers) {
        ids.push(await enqueueManualSell(ctx, ticker, req.requestId));
        queued.push(ticker);
      }
    } catch (error) {
      logger.warn('sell/all stopped part-way', { queued, error: (error as Error).message });
      return unavailableResponse(`Redis became unavailable after queuing ${queued.length} of ${tickers.length} exits`, [{ ids, tickers: queued }]);
    }
    return { status: 202, body: { ids, tickers: queued } };
  };
}
