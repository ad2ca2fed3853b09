import { z } from 'zod';
import { adminActionProvider, deadLetterRoutes, parseTicker, pauseDelivery, resumeDelivery, readScreenerPause, type HttpRequest, type Route } from '@tsp/core';
import { FinvizConfigStore } from '@tsp/db';
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
import { closePosition, openPosition } from './handlers/correct-position';
import { CSV, exportSignals, NDJSON } from './handlers/export-signals';
import { listAdminActions } from './handlers/list-admin-actions';
import { streamEvents } from './handlers/stream-events';
import { getSignalActivity } from './handlers/signal-activity';
import { finvizConfigView } from './finviz-config-view';
import { pauseScreenerHandler, pauseState, resumeScreenerHandler } from './handlers/screener-pause';
import { refreshScreenerHandler } from './handlers/screener-refresh';
import { getCapUse } from './handlers/get-cap-use';
import { strategyRoutes } from './strategies/strategy-routes';

/** What the OpenAPI document says ingest is. */
export const INGEST_ABOUT = 'The public edge of tsp, the trading-signal relay: receives signals (POST /webhook/in) and manual sells, answers for the Top-N set, positions, signals and the admin-action log, and serves the admin console and Bull Board. Its /docs also presents the documents of the screener, the approver and the forwarder (drop-down at the top): each serves its own routes on its own port.';

/** Signals are small; anything bigger than this is not an alert. */
export const WEBHOOK_BODY_LIMIT = '16kb';

const ADMIN_ONLY = { 401: 'admin token or session required' };
const UNLOGGABLE = 'Postgres down: the admin-action log cannot be written, so nothing was done (Retry-After)';

/** The sell's ticker as the log's target: normalised when valid, else quoted as sent (never raw control characters). */
function sellTarget(req: HttpRequest): string | null {
  const raw = (req.body as Record<string, unknown> | null)?.ticker;
  if (typeof raw !== 'string') return null;
  const parsed = parseTicker(raw);
  return parsed.ok ? parsed.ticker : JSON.stringify(raw.slice(0, 40));
}

/**
 * Every public route of ingest, with who may call it, what it validates and what it answers: the
 * OpenAPI document at /openapi.json is generated from this table. (/health, /ready, /status,
 * /metrics, /openapi.json and /docs come from core; the console's pages are console-pages.ts.)
 */
export function ingestRoutes(ctx: IngestContext): Route[] {
  const guards = ingestGuards(ctx);
  const postgres = postgresProvider(ctx);
  const audited = adminActionProvider(ctx.adminActions, ctx.logger);
  const finvizConfigStore = new FinvizConfigStore(ctx.prisma, ctx.config.keyPrefix);
  const finvizConfigNow = async () => finvizConfigView(await finvizConfigStore.read(), ctx.config);
  // Pausing the screener works with Postgres down (emergency): its log row is written when the pause
  // is done if Postgres answers by then, else the whole row goes to the error log.
  const deliveryPausedNow = async () => ({ paused: await ctx.forwardQueue.isPaused() });
  const screenerPauseNow = async () => pauseState(await readScreenerPause(ctx.redis, ctx.config.keyPrefix));
  return [
    {
      method: 'post', path: '/webhook/in', handler: receiveSignal(ctx), parse: parseWebhookBody, guards: guards.webhook,
      body: 'rawText', limit: WEBHOOK_BODY_LIMIT, accepts: ['application/json', 'text/plain'],
      // The hot route: served on plain node:http, as express would answer (plain-route-server.ts in core).
      plainHttp: true,
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
      method: 'get', path: '/signals.csv', handler: postgres(exportSignals(ctx, CSV)), guards: guards.admin, query: api.SignalExportQuerySchema,
      docs: { summary: 'Every signal the filters of /signals match, newest first, as CSV with a header row (streamed; formula-looking cells prefixed with \')', ok: { status: 200, contentType: 'text/csv', description: 'an attachment' }, errors: { 400: 'invalid query (status=queued is not exported)', ...ADMIN_ONLY, 503: 'Postgres down' } },
    },
    {
      method: 'get', path: '/signals.ndjson', handler: postgres(exportSignals(ctx, NDJSON)), guards: guards.admin, query: api.SignalExportQuerySchema,
      docs: { summary: 'Every signal the filters of /signals match, newest first, one JSON signal view a line (streamed)', ok: { status: 200, contentType: 'application/x-ndjson', description: 'an attachment' }, errors: { 400: 'invalid query (status=queued is not exported)', ...ADMIN_ONLY, 503: 'Postgres down' } },
    },
    {
      method: 'get', path: '/signals/:id', handler: getSignal(ctx), guards: guards.admin,
      docs: { summary: "A signal's whole life: the body as received, decision, rank, the Top-N set it was judged on, every delivery attempt", ok: { status: 200, body: api.SignalDetailSchema, description: 'the signal' }, errors: { 400: 'not a UUID', ...ADMIN_ONLY, 404: 'no such signal', 503: 'Postgres down and the signal not in Redis' } },
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
      method: 'post', path: '/finviz/config', handler: postgres(audited({ action: 'finviz_config.update', before: finvizConfigNow })(updateFinvizConfig(ctx))), guards: guards.finvizConfig, limit: '16kb',
      docs: {
        summary: 'Change the screener configuration (any subset); applied within 2 s, survives restarts',
        body: api.FinvizConfigUpdateSchema,
        ok: { status: 200, body: api.FinvizConfigSchema.extend({ announced: z.boolean().describe('false if the screeners could not be told at once; they re-read within 10 s') }), description: 'the configuration now in force' },
        errors: { 400: 'invalid value, or a host not in FINVIZ_ALLOWED_HOSTS', 401: 'FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN required', 503: 'Postgres down (nothing changed)' },
      },
    },
    {
      method: 'post', path: '/sell/individual', handler: audited({ action: 'manual_sell.individual', target: sellTarget, emergency: true })(sellIndividual(ctx)), guards: guards.sellToken, limit: '4kb',
      docs: { summary: 'Manual exit of one ticker: bypasses the Top-N filter, not the rate limit', body: api.SellIndividualSchema, ok: { status: 202, body: api.SellAcceptedSchema, description: 'queued ahead of source signals' }, errors: { 400: 'missing or invalid ticker', 401: 'wrong token', 503: 'Redis down (Retry-After)' } },
    },
    {
      method: 'post', path: '/sell/all', handler: audited({ action: 'manual_sell.all', emergency: true })(sellAll(ctx)), guards: guards.sellToken, limit: '4kb',
      docs: { summary: 'Manual exit of every open position', body: api.SellAllSchema, ok: { status: 202, body: api.SellAcceptedSchema, description: 'one SELL per open position, queued ahead of source signals' }, errors: { 401: 'wrong token', 503: 'Redis or Postgres down (Retry-After)' } },
    },
    {
      method: 'get', path: '/positions', handler: postgres(listPositions(ctx)), guards: guards.admin,
      docs: { summary: 'Open positions (a delivered BUY opens, a delivered SELL closes)', ok: { status: 200, body: api.PositionsSchema, description: 'open positions' }, errors: { ...ADMIN_ONLY, 503: 'Redis or Postgres down' } },
    },
    {
      method: 'post', path: '/positions/:ticker/open', guards: guards.admin, params: api.TickerParamsSchema, request: api.OpenPositionSchema, invalidBody: 'invalid_position', limit: '1kb',
      handler: postgres(audited({ action: 'position.open', target: (req) => req.params.ticker, change: positionChange })(openPosition(ctx))),
      docs: { summary: 'Open a position without a trade (the broker holds it, tsp does not): SELLs of the ticker then pass', ok: { status: 200, body: api.PositionCorrectionSchema, description: 'opened' }, errors: { 400: 'invalid ticker or price', ...ADMIN_ONLY, 409: 'already open (nothing changed)', 503: UNLOGGABLE } },
    },
    {
      method: 'post', path: '/positions/:ticker/close', guards: guards.admin, params: api.TickerParamsSchema, body: 'none',
      handler: postgres(audited({ action: 'position.close', target: (req) => req.params.ticker, change: positionChange })(closePosition(ctx))),
      docs: { summary: 'Close a position without a trade (the broker closed it, tsp still holds it): SELLs of the ticker are then refused', ok: { status: 200, body: api.PositionCorrectionSchema, description: 'closed' }, errors: { 400: 'invalid ticker', ...ADMIN_ONLY, 404: 'no open position (nothing changed)', 503: UNLOGGABLE } },
    },
    {
      method: 'get', path: '/admin/actions', handler: postgres(listAdminActions(ctx)), guards: guards.admin, query: api.AdminActionListQuerySchema,
      docs: { summary: 'Every state-changing admin action, newest first: who (token kind, address), what, target, before and after', ok: { status: 200, body: api.AdminActionListSchema, description: 'a page of admin actions' }, errors: { 400: 'invalid query', ...ADMIN_ONLY, 503: 'Postgres down' } },
    },
    {
      method: 'post', path: '/admin/screener/pause', handler: audited({ action: 'screener.pause', before: screenerPauseNow, emergency: true })(pauseScreenerHandler(ctx)), guards: guards.admin, limit: '4kb',
      request: api.ScreenerPauseRequestSchema, invalidBody: 'invalid_pause',
      docs: {
        summary: 'Pause the screener on every replica within 2 s, until resumed (survives restarts); the Top-N set ages and BUYs turn topn_stale. Body optional',
        ok: { status: 200, body: api.ScreenerPauseStateSchema, description: 'the screener is paused' },
        errors: { 400: 'a body that is not {"reason": "..."}', ...ADMIN_ONLY, 503: 'Redis down' },
      },
    },
    {
      method: 'post', path: '/admin/screener/resume', handler: audited({ action: 'screener.resume', before: screenerPauseNow, emergency: true })(resumeScreenerHandler(ctx)), guards: guards.admin, body: 'none',
      docs: {
        summary: 'Resume the screener on every replica: each fetches as soon as its pace allows. Any body is ignored',
        ok: { status: 200, body: api.ScreenerPauseStateSchema, description: 'the screener runs' },
        errors: { ...ADMIN_ONLY, 503: 'Redis down' },
      },
    },
    {
      method: 'post', path: '/admin/screener/refresh', handler: postgres(audited({ action: 'screener.refresh' })(refreshScreenerHandler(ctx))), guards: guards.admin, limit: '4kb',
      request: api.ScreenerRefreshBodySchema, invalidBody: 'invalid_refresh',
      docs: {
        summary: 'Ask the leading screener replica to scrape now instead of at its next tick (through Redis; the request lapses after 30 s if no screener takes it). The new set is published as usual (GET /finviz/topn, the console\'s Top-N panel); how the pass went is on /status under screener.last_refresh. Body optional',
        ok: { status: 202, body: api.ScreenerRefreshRequestedSchema, description: 'asked for' },
        errors: { 400: 'a body that is not {"reason": "..."}', ...ADMIN_ONLY, 409: 'the screener is paused (nothing requested)', 503: `Redis down, or ${UNLOGGABLE}` },
      },
    },
    {
      method: 'post', path: '/admin/delivery/pause', handler: postgres(audited({ action: 'delivery.pause', before: deliveryPausedNow })(pauseDelivery(ctx))), guards: guards.admin, body: 'none',
      docs: {
        summary: 'Pause delivery on every forwarder replica (as the forwarder\'s POST /admin/pause): in-flight deliveries finish, approved signals wait. Any body is ignored',
        ok: { status: 200, body: api.DeliveryPauseStateSchema, description: 'delivery is paused' }, errors: { ...ADMIN_ONLY, 503: `Redis down, or ${UNLOGGABLE}` },
      },
    },
    {
      method: 'post', path: '/admin/delivery/resume', handler: postgres(audited({ action: 'delivery.resume', before: deliveryPausedNow })(resumeDelivery(ctx))), guards: guards.admin, body: 'none',
      docs: {
        summary: 'Resume delivery on every forwarder replica (as the forwarder\'s POST /admin/resume). Any body is ignored',
        ok: { status: 200, body: api.DeliveryPauseStateSchema, description: 'delivery runs' }, errors: { ...ADMIN_ONLY, 503: `Redis down, or ${UNLOGGABLE}` },
      },
    },
    {
      method: 'get', path: '/admin/delivery/cap-use', handler: getCapUse(ctx), guards: guards.admin,
      docs: {
        summary: "How much of the destination's rate cap is used now: requests started in the sliding minute and hour that end now, against each cap, as the forwarders count them (every replica together)",
        ok: { status: 200, body: api.CapUseSchema, description: 'the use of each window' }, errors: { ...ADMIN_ONLY, 503: 'Redis down' },
      },
    },
    {
      method: 'get', path: '/admin/stats/signals', handler: postgres(getSignalActivity(ctx)), guards: guards.admin, query: api.SignalActivityQuerySchema,
      docs: { summary: "The relay's activity per minute (the console's charts): signals by outcome, delivery attempts and their latency p50/p99", ok: { status: 200, body: api.SignalActivitySchema, description: 'minutes, oldest first' }, errors: { 400: 'invalid query', ...ADMIN_ONLY, 503: 'Postgres down' } },
    },
    ...strategyRoutes(ctx, guards, postgres, audited),
    {
      method: 'get', path: '/admin/events', handler: streamEvents(ctx.events), guards: guards.admin, query: api.EventStreamQuerySchema,
      docs: {
        summary: 'The live feed of signal changes as Server-Sent Events: `hello` (its id: the feed now), after Last-Event-ID the missed `signals` events or a `reset` (reload the list), then one `signals` event (a JSON array of changes) per batch as it happens; a comment every 15 s',
        ok: { status: 200, contentType: 'text/event-stream', description: 'an endless event stream' },
        errors: { 400: 'Last-Event-ID (or last_event_id) is not an event id', ...ADMIN_ONLY, 503: 'this ingest serves its maximum of connections (ADMIN_EVENTS_MAX_CONNECTIONS), or Redis is down (Retry-After)' },
      },
    },
    ...deadLetterRoutes(ctx.deadLetters, guards.admin, ctx.logger, postgres, audited),
  ];
}

/** A position correction's before and after, as the handler answered them (read and changed atomically). */
function positionChange(_req: HttpRequest, res: { body?: unknown }) {
  const body = res.body as z.infer<typeof api.PositionCorrectionSchema>;
  return { before: body.before, after: body.after };
}
