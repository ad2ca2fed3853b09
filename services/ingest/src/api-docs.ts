import { z } from 'zod';
import * as api from './api-schemas';

type Auth = 'admin' | 'finviz' | 'webhook' | 'token_in_body' | 'none';

export interface RouteDoc {
  summary: string;
  auth: Auth;
  request?: z.ZodType;
  /** Query parameters: name → description. */
  query?: Record<string, string>;
  /** The success answer: status and body. */
  ok: { status: number; body?: z.ZodType; description: string };
  /** Error statuses this route answers, each with the contract's JSON error body. */
  errors: Record<number, string>;
}

/**
 * The documentation of every public route of ingest, keyed "METHOD path" as in the route table.
 * A test checks the two tables name the same routes.
 */
export const API_DOCS: Record<string, RouteDoc> = {
  'POST /webhook/in': {
    summary: 'Receive a trading signal (JSON, as application/json or text/plain)',
    auth: 'webhook',
    request: api.WebhookInSchema,
    ok: { status: 202, body: api.AcceptedSchema, description: 'accepted and durably queued (200 with the first id for a repeated Idempotency-Key)' },
    errors: { 400: 'invalid field(s), each named in details', 401: 'bad or missing webhook secret', 403: 'sender address not allowed', 413: 'body over 16 KiB', 415: 'content type other than JSON or text/plain', 503: 'queue full or Redis down (Retry-After)' },
  },
  'GET /signals': {
    summary: 'Search signals, newest first',
    auth: 'admin',
    query: { status: 'queued|approved|rejected|forwarded|retrying|dead', ticker: 'ticker', side: 'BUY|SELL', from: 'ISO time', to: 'ISO time', limit: '1..500 (default 100)', cursor: 'next_cursor of the previous page' },
    ok: { status: 200, body: api.SignalListSchema, description: 'a page of signals' },
    errors: { 400: 'invalid query', 401: 'admin token required' },
  },
  'GET /signals/:id': {
    summary: "A signal's whole life: decision, rank, snapshot, every delivery attempt",
    auth: 'admin',
    ok: { status: 200, body: api.SignalViewSchema, description: 'the signal' },
    errors: { 400: 'not a UUID', 401: 'admin token required', 404: 'no such signal' },
  },
  'GET /finviz/topn': {
    summary: 'The Top-N set approvers decide against, ranked as on the screener page',
    auth: 'none',
    ok: { status: 200, body: api.TopnViewSchema, description: 'the current set' },
    errors: { 503: 'no set published yet' },
  },
  'GET /finviz/topn/history': {
    summary: 'The changed Top-N sets over time, newest first',
    auth: 'none',
    query: { from: 'ISO time', to: 'ISO time', limit: '1..1000 (default 100)', cursor: 'next_cursor of the previous page' },
    ok: { status: 200, body: api.TopnHistorySchema, description: 'snapshots' },
    errors: { 400: 'invalid query' },
  },
  'GET /finviz/config': {
    summary: 'The screener configuration in force (never credentials)',
    auth: 'finviz',
    ok: { status: 200, body: api.FinvizConfigSchema, description: 'the configuration' },
    errors: { 401: 'FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN required' },
  },
  'POST /finviz/config': {
    summary: 'Change the screener configuration (any subset); applied within 2 s, survives restarts',
    auth: 'finviz',
    request: api.FinvizConfigUpdateSchema,
    ok: { status: 200, body: api.FinvizConfigSchema.extend({ announced: z.boolean().describe('false if the screeners could not be told at once; they re-read within 10 s') }), description: 'the configuration now in force' },
    errors: { 400: 'invalid value, or a host not in FINVIZ_ALLOWED_HOSTS', 401: 'FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN required' },
  },
  'POST /sell/individual': {
    summary: 'Manual exit of one ticker: bypasses the Top-N filter, not the rate limit',
    auth: 'token_in_body',
    request: api.SellIndividualSchema,
    ok: { status: 202, body: api.SellAcceptedSchema, description: 'queued ahead of source signals' },
    errors: { 400: 'missing or invalid ticker', 401: 'wrong token', 503: 'Redis down (Retry-After)' },
  },
  'POST /sell/all': {
    summary: 'Manual exit of every open position',
    auth: 'token_in_body',
    request: api.SellAllSchema,
    ok: { status: 202, body: api.SellAcceptedSchema, description: 'one SELL per open position, queued ahead of source signals' },
    errors: { 401: 'wrong token', 503: 'Redis or Postgres down (Retry-After)' },
  },
  'GET /positions': {
    summary: 'Open positions (a delivered BUY opens, a delivered SELL closes)',
    auth: 'admin',
    ok: { status: 200, body: api.PositionsSchema, description: 'open positions' },
    errors: { 401: 'admin token required' },
  },
  'GET /admin/dead': {
    summary: 'Dead deliveries, most recent first, with every attempt',
    auth: 'admin',
    query: { limit: '1..500 (default 100)' },
    ok: { status: 200, body: api.DeadListSchema, description: 'dead letters' },
    errors: { 400: 'invalid limit', 401: 'admin token required' },
  },
  'POST /admin/dead/replay-all': {
    summary: 'Replay every dead delivery (up to 500 per call), same Idempotency-Keys',
    auth: 'admin',
    ok: { status: 202, body: api.ReplayAllAcceptedSchema, description: 'replayed ids; more=true when more remain' },
    errors: { 401: 'admin token required' },
  },
  'POST /admin/dead/:id/replay': {
    summary: 'Replay one dead delivery with the same Idempotency-Key',
    auth: 'admin',
    ok: { status: 202, body: api.ReplayAcceptedSchema, description: 'queued for delivery again' },
    errors: { 401: 'admin token required', 404: 'no such signal', 409: 'the signal is not dead' },
  },
  'GET /openapi.json': {
    summary: 'This document',
    auth: 'none',
    ok: { status: 200, description: 'OpenAPI 3.1' },
    errors: {},
  },
};
