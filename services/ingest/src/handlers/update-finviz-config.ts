import { environmentFinvizConfig, errorResponse, finvizConfigUpdateSchema, requestLogger, unavailableResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import { FinvizConfigStore } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { finvizConfigView } from '../finviz-config-view';
import { announceFinvizConfig } from '../announce-finviz-config';

/**
 * POST /finviz/config — any subset of {url, top_n, refresh}: validated (the URL's host must be in
 * FINVIZ_ALLOWED_HOSTS, 1 ≤ top_n ≤ 1000, refresh ≥ 1 s), stored in Postgres with who and when,
 * and announced to the screener, which applies it within about a second.
 */
export function updateFinvizConfig(ctx: IngestContext) {
  const store = new FinvizConfigStore(ctx.prisma, ctx.config.keyPrefix);
  const schema = finvizConfigUpdateSchema(ctx.config.finvizAllowedHosts);
  return async (req: HttpRequest): Promise<HttpResponse> => {
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      return errorResponse(400, 'invalid_config', 'Body must be a JSON object: {"url": "...", "top_n": 20, "refresh": 15} or any part of it');
    }
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => ({
        field: issue.path.join('.') || ('keys' in issue ? issue.keys.join(', ') : ''),
        message: issue.message,
      }));
      return errorResponse(400, 'invalid_config', `Invalid config: ${details.map((d) => `${d.field || 'body'} ${d.message}`).join('; ')}`, details);
    }

    const logger = requestLogger(ctx.logger, req.requestId);
    let stored;
    try {
      stored = await store.update(parsed.data, environmentFinvizConfig(ctx.config), {
        actor: req.principal ?? 'unknown', ip: req.ip || null, userAgent: req.headers['user-agent']?.slice(0, 500) ?? null,
      });
    } catch (error) {
      logger.warn('could not store the Finviz config', { error: (error as Error).message });
      return unavailableResponse('Postgres is unavailable; the config was not changed');
    }
    const announced = await announceFinvizConfig(ctx, stored, logger);
    const view = finvizConfigView(stored, ctx.config);
    logger.info('Finviz config changed', { ...view, actor: req.principal });
    return { status: 200, body: { ...view, announced } };
  };
}
