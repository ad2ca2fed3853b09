import { unavailableResponse, type HttpResponse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';
import { FinvizConfigStore } from '../finviz-config-store';

/** GET /finviz/config — the screener's settings in force: URL (credentials masked), top_n, refresh. */
export function getFinvizConfig(ctx: IngestContext) {
  const store = new FinvizConfigStore(ctx.prisma, ctx.config);
  return async (): Promise<HttpResponse> => {
    let stored;
    try {
      stored = await store.read();
    } catch (error) {
      ctx.logger.warn('could not read the Finviz config', { error: (error as Error).message });
      return unavailableResponse('Postgres is unavailable; the config cannot be read');
    }
    return { status: 200, body: store.view(stored) };
  };
}
