import {
  errorResponse, parseTicker, redisKeys, secretsEqual, signalJobOptions, unavailableResponse,
  type HttpRequest, type HttpResponse, type SignalJob,
} from '@tsp/core';
import { openPositions } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { SellIndividualSchema } from '../api-schemas';
import { newSignalId } from '../signal/normalise-signal';



/** The sell routes take the token in the body (what the seed did): ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN. */
function tokenAccepted(ctx: IngestContext, token: unknown): boolean {
  if (typeof token !== 'string') return false;
  return secretsEqual(token, ctx.config.adminToken) || secretsEqual(token, ctx.config.finvizUpdateToken);
}

function unauthorized(): HttpResponse {
  return errorResponse(401, 'unauthorized', 'Missing or wrong token (ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN)');
}

/** The last price tsp saw for the ticker: its open position's, else the last source signal's. */
async function lastKnownPrice(ctx: IngestContext, ticker: string): Promise<number | undefined> {
  const positionPrice = await ctx.positions.lastPrice(ticker).catch(() => null);
  if (positionPrice) return positionPrice;
  const seen = Number(await ctx.redis.get(redisKeys(ctx.config.keyPrefix).lastPrice(ticker)).catch(() => null));
  return Number.isFinite(seen) && seen > 0 ? seen : undefined;
}

async function enqueueManualSell(ctx: IngestContext, ticker: string): Promise<string> {
  const now = new Date().toISOString();
  const price = await lastKnownPrice(ctx, ticker);
  const id = newSignalId();
  const job: SignalJob = {
    id, kind: 'manual', ticker, side: 'SELL', action: 'exit', ...(price ? { price } : {}), time: now, receivedAt: now,
    body: { ticker, side: 'SELL', action: 'exit', ...(price ? { price } : {}), time: now },
  };
  await ctx.signalsQueue.add('signal', job, signalJobOptions(id, true)); // urgent: decided ahead of queued source signals
  ctx.received.add(ticker, undefined);
  ctx.logger.info('manual exit queued', { id, ticker, price });
  return id;
}

/** POST /sell/individual {"ticker", "token"} — one SELL for the ticker, past the Top-N filter. */
export function sellIndividual(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!tokenAccepted(ctx, body.token)) return unauthorized();
    const parsed = SellIndividualSchema.safeParse(body);
    const read = parsed.success ? parseTicker(parsed.data.ticker) : { ok: false as const, message: 'ticker is required, e.g. "AAPL"' };
    if (!read.ok) {
      return errorResponse(400, 'invalid_signal', 'Invalid sell: ticker', [{ field: 'ticker', message: read.message }]);
    }
    const { ticker } = read;
    try {
      const id = await enqueueManualSell(ctx, ticker);
      return { status: 202, body: { ids: [id], tickers: [ticker] } };
    } catch (error) {
      ctx.logger.warn('could not queue a manual exit', { ticker, error: (error as Error).message });
      return unavailableResponse('Redis is unavailable; the exit was not queued, send it again');
    }
  };
}

/** POST /sell/all {"token"} — one SELL for every open position. */
export function sellAll(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!tokenAccepted(ctx, body.token)) return unauthorized();
    let tickers: string[];
    try {
      tickers = (await openPositions(ctx.positions, ctx.prisma)).map((p) => p.ticker).sort();
    } catch (error) {
      ctx.logger.warn('could not read positions for sell/all', { error: (error as Error).message });
      return unavailableResponse('Open positions cannot be read right now; nothing was queued');
    }
    const ids: string[] = [];
    const queued: string[] = [];
    try {
      for (const ticker of tickers) {
        ids.push(await enqueueManualSell(ctx, ticker));
        queued.push(ticker);
      }
    } catch (error) {
      ctx.logger.warn('sell/all stopped part-way', { queued, error: (error as Error).message });
      return unavailableResponse(`Redis became unavailable after queuing ${queued.length} of ${tickers.length} exits`, [{ ids, tickers: queued }]);
    }
    return { status: 202, body: { ids, tickers: queued } };
  };
}
