import type { AdminActionSpec, Handler, HttpRequest, HttpResponse, Route } from '@tsp/core';
import { StrategyNotFoundError } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import type { ingestGuards } from '../guards';
import type { postgresProvider } from '../providers';
import { shown, strategyHandlers } from './strategy-handlers';
import {
  StrategyChangedSchema, StrategyDuplicateSchema, StrategyListSchema, StrategyParamsSchema, StrategyViewSchema, strategyCreateSchema, strategyUpdateSchema,
} from './strategy-schemas';

type Audited = (spec: AdminActionSpec) => (handler: Handler) => Handler;

const ERRORS = { 401: 'admin token or session required', 503: 'Postgres down (nothing changed)' };

/**
 * /strategies on ingest (ADMIN_TOKEN or the console's session). Every change is in the
 * admin-action log with the strategy before and after (URL credentials masked); activating one
 * changes /finviz/config, applied by every screener replica within 2 s.
 */
export function strategyRoutes(ctx: IngestContext, guards: ReturnType<typeof ingestGuards>, postgres: ReturnType<typeof postgresProvider>, audited: Audited): Route[] {
  const strategies = strategyHandlers(ctx);
  const hosts = ctx.config.finvizAllowedHosts;
  const target = (req: HttpRequest) => req.params.id ?? null;
  const before = async (req: HttpRequest) => {
    try {
      return shown(await strategies.store.get(req.params.id));
    } catch (error) {
      // The handler answers 404; the row says there was nothing before.
      if (error instanceof StrategyNotFoundError) return null;
      throw error;
    }
  };
  const activeNow = async () => {
    const active = await strategies.store.active();
    return active && shown(active);
  };
  /** The strategy an answer carries, as the row's after. */
  const after = (_req: HttpRequest, res: HttpResponse) => (res.status < 300 ? res.body : null);
  const admin = guards.admin;
  return [
    {
      method: 'get', path: '/strategies', handler: postgres(strategies.list()), guards: admin,
      docs: { summary: 'Every strategy (a named Finviz screener), oldest first; the active one is the screener config', ok: { status: 200, body: StrategyListSchema, description: 'the strategies' }, errors: ERRORS },
    },
    {
      method: 'post', path: '/strategies', guards: admin, request: strategyCreateSchema(hosts), invalidBody: 'invalid_strategy', limit: '16kb',
      handler: postgres(audited({ action: 'strategy.create', after })(strategies.create())),
      docs: { summary: 'Create a strategy; the first one becomes active', ok: { status: 201, body: StrategyChangedSchema, description: 'created' }, errors: { 400: 'invalid field, or a host not in FINVIZ_ALLOWED_HOSTS', 409: 'name taken', ...ERRORS } },
    },
    {
      method: 'get', path: '/strategies/:id', handler: postgres(strategies.get()), guards: admin, params: StrategyParamsSchema,
      docs: { summary: 'One strategy', ok: { status: 200, body: StrategyViewSchema, description: 'the strategy' }, errors: { 400: 'not a UUID', 404: 'no such strategy', ...ERRORS } },
    },
    {
      method: 'put', path: '/strategies/:id', guards: admin, params: StrategyParamsSchema, request: strategyUpdateSchema(hosts), invalidBody: 'invalid_strategy', limit: '16kb',
      handler: postgres(audited({ action: 'strategy.update', target, before, after })(strategies.update())),
      docs: { summary: 'Change a strategy (any of name, url, top_n, refresh); the active one\'s change reaches the screener within 2 s', ok: { status: 200, body: StrategyChangedSchema, description: 'changed' }, errors: { 400: 'invalid field or id', 404: 'no such strategy', 409: 'name taken', ...ERRORS } },
    },
    {
      method: 'delete', path: '/strategies/:id', guards: admin, params: StrategyParamsSchema, body: 'none',
      handler: postgres(audited({ action: 'strategy.delete', target, before, after: () => null })(strategies.remove())),
      docs: { summary: 'Delete a strategy that is not active', ok: { status: 200, body: StrategyViewSchema, description: 'the strategy deleted' }, errors: { 400: 'not a UUID', 404: 'no such strategy', 409: 'it is active', ...ERRORS } },
    },
    {
      method: 'post', path: '/strategies/:id/activate', guards: admin, params: StrategyParamsSchema, body: 'none',
      handler: postgres(audited({ action: 'strategy.activate', target, before: activeNow, after })(strategies.activate())),
      docs: { summary: 'Make a strategy the screener config, for every replica within 2 s (survives restarts)', ok: { status: 200, body: StrategyChangedSchema, description: 'active now' }, errors: { 400: 'not a UUID', 404: 'no such strategy', ...ERRORS } },
    },
    {
      method: 'post', path: '/strategies/:id/duplicate', guards: admin, params: StrategyParamsSchema, request: StrategyDuplicateSchema, invalidBody: 'invalid_strategy', limit: '4kb',
      handler: postgres(audited({ action: 'strategy.duplicate', target, after })(strategies.duplicate())),
      docs: { summary: 'Copy a strategy under a new name (not active)', ok: { status: 201, body: StrategyViewSchema, description: 'the copy' }, errors: { 400: 'invalid name or id', 404: 'no such strategy', 409: 'name taken', ...ERRORS } },
    },
  ];
}
