import { errorResponse, type HttpRequest, type Route } from '@tsp/core';
import { isAdminRequest } from './bull-board';
import type { IngestContext } from './ingest-context';
import { receiveSignal } from './handlers/receive-signal';
import { getSignal } from './handlers/get-signal';
import { listSignals } from './handlers/list-signals';
import { getTopn } from './handlers/get-topn';
import { getTopnHistory } from './handlers/get-topn-history';
import { getFinvizConfig } from './handlers/get-finviz-config';
import { finvizConfigGuard, updateFinvizConfig } from './handlers/update-finviz-config';
import { sellAll, sellIndividual } from './handlers/manual-sell';
import { listPositions } from './handlers/list-positions';
import { listDead, replayAllDead, replayDead } from '@tsp/db';
import { buildOpenApi } from './openapi';

/** Signals are small; anything bigger than this is not an alert. */
export const WEBHOOK_BODY_LIMIT = '16kb';

/** Every public route of ingest. (/health, /ready, /status, /metrics come from core.) */
export function ingestRoutes(ctx: IngestContext): Route[] {
  // The admin console calls these from the browser with its cookie; scripts use the Bearer token.
  const admin = (req: HttpRequest) =>
    isAdminRequest(req.headers, ctx.config.adminToken) ? null : errorResponse(401, 'unauthorized', 'Missing or wrong Bearer token (ADMIN_TOKEN)');
  const routes: Route[] = [
    { method: 'post', path: '/webhook/in', handler: receiveSignal(ctx), body: 'rawText', limit: WEBHOOK_BODY_LIMIT, accepts: ['application/json', 'text/plain'] },
    { method: 'get', path: '/signals', handler: listSignals(ctx), guard: admin },
    { method: 'get', path: '/signals/:id', handler: getSignal(ctx), guard: admin },
    { method: 'get', path: '/finviz/topn', handler: getTopn(ctx) },
    { method: 'get', path: '/finviz/topn/history', handler: getTopnHistory(ctx) },
    { method: 'get', path: '/finviz/config', handler: getFinvizConfig(ctx), guard: finvizConfigGuard(ctx) },
    { method: 'post', path: '/finviz/config', handler: updateFinvizConfig(ctx), guard: finvizConfigGuard(ctx), limit: '16kb' },
    { method: 'post', path: '/sell/individual', handler: sellIndividual(ctx), limit: '4kb' },
    { method: 'post', path: '/sell/all', handler: sellAll(ctx), limit: '4kb' },
    { method: 'get', path: '/positions', handler: listPositions(ctx), guard: admin },
    { method: 'get', path: '/admin/dead', handler: listDead(ctx), guard: admin },
    { method: 'post', path: '/admin/dead/replay-all', handler: replayAllDead(ctx), guard: admin, body: 'none' },
    { method: 'post', path: '/admin/dead/:id/replay', handler: replayDead(ctx), guard: admin, body: 'none' },
  ];
  let openApi: unknown = null;
  routes.push({ method: 'get', path: '/openapi.json', handler: () => ({ status: 200, body: (openApi ??= buildOpenApi(routes, '0.1.0')) }) });
  return routes;
}
