import { errorResponse, redactUrl, requestLogger, type HttpRequest, type HttpResponse } from '@tsp/core';
import {
  ActiveStrategyError, StrategyNameTakenError, StrategyNotFoundError, StrategyStore, type FinvizConfigActor, type StrategyValues, type StrategyView,
} from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { announceFinvizConfig } from '../announce-finviz-config';

/**
 * /strategies: named Finviz screeners, one active (the screener's config, `/finviz/config`).
 * Handlers are plain functions over StrategyStore; a store error of a known kind is an answer,
 * anything else (Postgres down) goes to the route's provider.
 */

type Change = Partial<StrategyValues> & { name?: string };

const who = (req: HttpRequest<unknown, unknown>): FinvizConfigActor => ({ actor: req.principal ?? 'unknown', ip: req.ip || null, userAgent: req.headers['user-agent']?.slice(0, 500) ?? null });

/** What any answer shows of a strategy: never the URL's credentials. */
export const shown = (view: StrategyView): StrategyView => ({ ...view, url: redactUrl(view.url) });

function known(error: unknown): HttpResponse {
  if (error instanceof StrategyNotFoundError) return errorResponse(404, 'not_found', `No strategy ${error.id}`);
  if (error instanceof StrategyNameTakenError) return errorResponse(409, 'name_taken', `A strategy named "${error.strategyName}" exists already; choose another name`);
  if (error instanceof ActiveStrategyError) return errorResponse(409, 'active_strategy', 'This strategy is active: activate another one before deleting it');
  throw error;
}

async function answering(run: () => Promise<HttpResponse>): Promise<HttpResponse> {
  try {
    return await run();
  } catch (error) {
    return known(error);
  }
}

export function strategyHandlers(ctx: IngestContext) {
  const store = new StrategyStore(ctx.prisma, ctx.config.keyPrefix, ctx.config);
  return {
    store,
    list: () => async (req: HttpRequest): Promise<HttpResponse> => {
      const items = await store.list(who(req));
      return { status: 200, body: { items: items.map(shown), active_id: items.find((s) => s.active)?.id ?? null } };
    },
    get: () => (req: HttpRequest) => answering(async () => ({ status: 200, body: shown(await store.get(req.params.id)) })),
    create: () => (req: HttpRequest<unknown, StrategyValues & { name: string }>) => answering(async () => {
      const { name, ...values } = req.body;
      const { strategy, config } = await store.create(name, values, who(req));
      const announced = config ? await announceFinvizConfig(ctx, config, requestLogger(ctx.logger, req.requestId)) : undefined;
      return { status: 201, body: { ...shown(strategy), ...(announced === undefined ? {} : { announced }) } };
    }),
    update: () => (req: HttpRequest<unknown, Change>) => answering(async () => {
      const { strategy, config } = await store.update(req.params.id, req.body, who(req));
      const announced = config ? await announceFinvizConfig(ctx, config, requestLogger(ctx.logger, req.requestId)) : undefined;
      return { status: 200, body: { ...shown(strategy), ...(announced === undefined ? {} : { announced }) } };
    }),
    remove: () => (req: HttpRequest) => answering(async () => ({ status: 200, body: shown(await store.remove(req.params.id)) })),
    duplicate: () => (req: HttpRequest<unknown, { name?: string }>) => answering(async () => ({ status: 201, body: shown(await store.duplicate(req.params.id, req.body.name)) })),
    activate: () => (req: HttpRequest) => answering(async () => {
      const { strategy, config } = await store.activate(req.params.id, who(req));
      const logger = requestLogger(ctx.logger, req.requestId);
      const announced = await announceFinvizConfig(ctx, config, logger);
      logger.info('strategy activated', { id: strategy.id, name: strategy.name, by: req.principal });
      return { status: 200, body: { ...shown(strategy), announced } };
    }),
  };
}
