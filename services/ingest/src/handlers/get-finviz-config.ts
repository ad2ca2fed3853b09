import { requestLogger, unavailableResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import { FinvizConfigStore } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { finvizConfigView } from '../finviz-config-view';

/** GET /finviz/config — the screener's settings in force: URL (credentials masked), top_n, refresh. */
export function getFinvizConfig(ctx: IngestContext) {
  const store = new FinvizConfigStore(ctx.prisma, ctx.config.keyPrefix);
  return async (req: HttpRequest): Promise<HttpResponse> => {
    let stored;
    try {
      stored = await store.read();
    } catch (error) {
      requestLogger(ctx.logger, req.requestId).warn('could not read the Finviz config', { error: (error as Error).message });
      return unavailableResponse('Postgres is unavailable; the config cannot be read');
    }
    return { status: 200, body: finvizConfigView(stored, ctx.config) };
  };
}
