import { z } from 'zod';
import { deadLetterRoutes, type Route } from '@tsp/core';
import type { IngestContext } from './ingest-context';
import * as api from './api-schemas';
import { ingestGuards } from './guards';
import { postgresProvider } from './providers';
import { parseWebhookBody, receiveSignal } from './handlers/receive-signal';
import { getSignal } from './handlers/get-signal';
import { listSignals } from './handlers/list-signals';
import { getTopn } from './handlers/get-topn';
import { getTopnHistory } from './handlers/get-topn-history';
import { getFinvizConfig } from './handlers/get-finviz-config';
import { updateFinvizConfig } from './handlers/update-finviz-config';
import { sellAll, sellIndividual } from './handlers/manual-sell';
import { listPositions } from './handlers/list-positions';
import { pauseScreenerHandler, resumeScreenerHandler } from './handlers/screener-pause';
import { buildOpenApi } from './openapi';

/** Signals are small; anything bigger than this is not an alert. */
export const WEBHOOK_BODY_LIMIT = '16kb';

const ADMIN_ONLY = { 401: 'admin token or session required' };

/**
 * Every public route of ingest, with who may call it, what it validates and what it answers: the
 * OpenAPI document at /openapi.json is generated from this table. (/health, /ready, /status,
 * /metrics come from core.)
 */
export function ingestRoutes(ctx: IngestContext): Route[] {
  const guards = ingestGuards(ctx);
  const postgres = postgresProvider(ctx);
  const routes: Route[] = [
    {
      method: 'post', path: '/webhook/in', handler: receiveSignal(ctx), parse: parseWebhookBody, guards: guards.webhook,
      body: 'rawText', limit: WEBHOOK_BODY_LIMIT, accepts: ['application/json', 'text/plain'],
      docs: {
        summary: 'Receive a trading signal (JSON, as application/json or text/plain)',
        body: api.WebhookInSchema,
        ok: { status: 202, body: api.AcceptedSchema, description: 'accepted and durably queued (200 with the first id for a repeated Idempotency-Key)' },
        errors: { 400: 'invalid field(s), each named in details', 401: 'bad or missing webhook secret', 403: 'sender address not allowed', 413: 'body over 16 KiB', 415: 'content type other than JSON or text/plain', 503: 'queue full, audit backlog full or Redis down (Retry-After)' },
      },
    },
    {
      method: 'get', path: '/signals', handler: postgres(listSignals(ctx)), guards: guards.admin, query: api.SignalListQuerySchema,
      docs: { summary: 'Search signals, newest first', ok: { status: 200, body: api.SignalListSchema, description: 'a page of signals' }, errors: { 400: 'invalid query', ...ADMIN_ONLY, 503: 'Postgres down' } },
    },
    {
      method: 'get', path: '/signals/:id', handler: getSignal(ctx), guards: guards.admin,
      docs: { summary: "A signal's whole life: decision, rank, snapshot, every delivery attempt", ok: { status: 200, body: api.SignalViewSchema, description: 'the signal' }, errors: { 400: 'not a UUID', ...ADMIN_ONLY, 404: 'no such signal', 503: 'Postgres down and the signal not in Redis' } },
    },
    {
      method: 'get', path: '/finviz/topn', handler: getTopn(ctx),
      docs: { summary: 'The Top-N set approvers decide against, ranked as on the screener page', ok: { status: 200, body: api.TopnViewSchema, description: 'the current set' }, errors: { 503: 'no set published yet' } },
    },
    {
      method: 'get', path: '/finviz/topn/history', handler: postgres(getTopnHistory(ctx)), query: api.TopnHistoryQuerySchema,
      docs: { summary: 'The changed Top-N sets over time, newest first', ok: { status: 200, body: api.TopnHistorySchema, description: 'snapshots' }, errors: { 400: 'invalid query', 503: 'Postgres down' } },
    },
    {
      method: 'get', path: '/finviz/config', handler: getFinvizConfig(ctx), guards: guards.finvizConfig,
      docs: { summary: 'The screener configuration in force (never credentials)', ok: { status: 200, body: api.FinvizConfigSchema, description: 'the configuration' }, errors: { 401: 'FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN required', 503: 'Postgres down' } },
    },
    {
      method: 'post', path: '/finviz/config', handler: updateFinvizConfig(ctx), guards: guards.finvizConfig, limit: '16kb',
      docs: {
        summary: 'Change the screener configuration (any subset); applied within 2 s, survives restarts',
        body: api.FinvizConfigUpdateSchema,
        ok: { status: 200, body: api.FinvizConfigSchema.extend({ announced: z.boolean().describe('false if the screeners could not be told at once; they re-read within 10 s') }), description: 'the configuration now in force' },
        errors: { 400: 'invalid value, or a host not in FINVIZ_ALLOWED_HOSTS', 401: 'FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN required', 503: 'Postgres down' },
      },
    },
    {
      method: 'post', path: '/sell/individual', handler: sellIndividual(ctx), guards: guards.sellToken, limit: '4kb',
      docs: { summary: 'Manual exit of one ticker: bypasses the Top-N filter, not the rate limit', body: api.SellIndividualSchema, ok: { status: 202, body: api.SellAcceptedSchema, description: 'queued ahead of source signals' }, errors: { 400: 'missing or invalid ticker', 401: 'wrong token', 503: 'Redis down (Retry-After)' } },
    },
    {
      method: 'post', path: '/sell/all', handler: sellAll(ctx), guards: guards.sellToken, limit: '4kb',
      docs: { summary: 'Manual exit of every open position', body: api.SellAllSchema, ok: { status: 202, body: api.SellAcceptedSchema, description: 'one SELL per open position, queued ahead of source signals' }, errors: { 401: 'wrong token', 503: 'Redis or Postgres down (Retry-After)' } },
    },
    {
      method: 'get', path: '/positions', handler: postgres(listPositions(ctx)), guards: guards.admin,
      docs: { summary: 'Open positions (a delivered BUY opens, a delivered SELL closes)', ok: { status: 200, body: api.PositionsSchema, description: 'open positions' }, errors: { ...ADMIN_ONLY, 503: 'Redis or Postgres down' } },
    },
    {
      method: 'post', path: '/admin/screener/pause', handler: pauseScreenerHandler(ctx), guards: guards.admin, limit: '4kb',
      request: api.ScreenerPauseRequestSchema, invalidBody: 'invalid_pause',
      docs: {
        summary: 'Pause the screener on every replica within 2 s, until resumed (survives restarts); the Top-N set ages and BUYs turn topn_stale. Body optional',
        ok: { status: 200, body: api.ScreenerPauseStateSchema, description: 'the screener is paused' },
        errors: { 400: 'a body that is not {"reason": "..."}', ...ADMIN_ONLY, 503: 'Redis down' },
      },
    },
    {
      method: 'post', path: '/admin/screener/resume', handler: resumeScreenerHandler(ctx), guards: guards.admin, body: 'none',
      docs: {
        summary: 'Resume the screener on every replica: each fetches as soon as its pace allows. Any body is ignored',
        ok: { status: 200, body: api.ScreenerPauseStateSchema, description: 'the screener runs' },
        errors: { ...ADMIN_ONLY, 503: 'Redis down' },
      },
    },
    ...deadLetterRoutes(ctx.deadLetters, guards.admin, ctx.logger, postgres),
  ];
  let openApi: unknown = null;
  routes.push({
    method: 'get', path: '/openapi.json', handler: () => ({ status: 200, body: (openApi ??= buildOpenApi(routes, '0.1.0')) }),
    docs: { summary: 'This document', ok: { status: 200, description: 'OpenAPI 3.1' }, errors: {} },
  });
  return routes;
}
