import { z } from 'zod';
import { adminActionProvider, adminTokenGuard, deadLetterRoutes, destinationChangeSchema, pauseDelivery, resumeDelivery, type Route } from '@tsp/core';
import { getDestination, resetDestination, setDestination } from './handlers/destination';
import type { ForwarderContext } from './forwarder-context';
import { getRateCap, RateLimitChangeSchema, setRateCap } from './handlers/rate-cap';

/** What the OpenAPI document says the forwarder is. */
export const FORWARDER_ABOUT = 'The forwarder of tsp: delivers approved signals to the destination (DEST_WEBHOOK_URL) under one global rate limit across its replicas, with retries, and keeps the dead letters. Admin routes need Bearer ADMIN_TOKEN; each that changes state is written to the admin-action log first (Postgres down: 503, nothing done).';

const PausedSchema = z.object({ paused: z.boolean() });
const RateCapSchema = z.object({
  enabled: z.boolean(),
  switched_at_runtime: z.boolean().describe('enabled was switched by POST /admin/rate-limit, not DEST_WEBHOOK_RATE_LIMITING_ENABLED'),
  max_per_minute: z.number().int(),
  max_per_hour: z.number().int(),
  spacing_ms: z.number().describe('the least time between two starts'),
});
const DestinationSchema = z.object({
  source: z.enum(['runtime', 'environment']),
  origin: z.string().describe('scheme, host and port of the URL (its path and query may hold a key: never shown)'),
  fingerprint: z.string().describe('the first 12 hex digits of the SHA-256 of the whole URL'),
  timeout_ms: z.number().int(),
  updated_at: z.string().nullable(),
});

const ADMIN_ONLY = { 401: 'Bearer ADMIN_TOKEN required' };
const NO_DESTINATION = { 409: 'DEST_WEBHOOK_URL is not set on this forwarder' };
const UNLOGGABLE = { 503: 'Postgres down: the admin-action log cannot be written, so nothing was done (Retry-After)' };

/**
 * Admin routes of the forwarder, all behind ADMIN_TOKEN; each that changes state is written to the
 * admin-action log first (Postgres down: 503, nothing done). (/health, /ready, /status, /metrics,
 * /openapi.json, /docs come from core.)
 */
export function forwarderRoutes(ctx: ForwarderContext): Route[] {
  const guards = [adminTokenGuard(ctx.config.adminToken)];
  const audited = adminActionProvider(ctx.adminActions, ctx.logger);
  const paused = async () => ({ paused: await ctx.forwardQueue.isPaused() });
  const rateCap = () => ctx.limiter.state();
  const destination = () => ctx.destination?.state() ?? null;
  return [
    {
      method: 'post', path: '/admin/pause', handler: audited({ action: 'delivery.pause', before: paused })(pauseDelivery(ctx)), guards, body: 'none',
      docs: { summary: 'Pause delivery on every forwarder replica: in-flight deliveries finish, queued signals wait. Any body is ignored', ok: { status: 200, body: PausedSchema, description: 'paused' }, errors: { ...ADMIN_ONLY, ...UNLOGGABLE } },
    },
    {
      method: 'post', path: '/admin/resume', handler: audited({ action: 'delivery.resume', before: paused })(resumeDelivery(ctx)), guards, body: 'none',
      docs: { summary: 'Resume delivery on every forwarder replica. Any body is ignored', ok: { status: 200, body: PausedSchema, description: 'delivering' }, errors: { ...ADMIN_ONLY, ...UNLOGGABLE } },
    },
    {
      method: 'get', path: '/admin/rate-limit', handler: getRateCap(ctx), guards,
      docs: { summary: 'The global rate cap in force for every replica', ok: { status: 200, body: RateCapSchema, description: 'the cap' }, errors: ADMIN_ONLY },
    },
    {
      method: 'post', path: '/admin/rate-limit', handler: audited({ action: 'rate_limit.update', before: rateCap })(setRateCap(ctx)), guards,
      request: RateLimitChangeSchema, invalidBody: 'invalid_rate_limit',
      docs: { summary: 'Change the per-minute cap, or switch limiting on or off, for every replica within 2 s; outlives restarts', ok: { status: 200, body: RateCapSchema, description: 'the cap now in force' }, errors: { 400: 'neither field, an unknown field, or a value out of range', ...ADMIN_ONLY, ...UNLOGGABLE } },
    },
    {
      method: 'get', path: '/admin/destination', handler: getDestination(ctx), guards,
      docs: { summary: 'Where deliveries go: origin, a fingerprint of the whole URL, timeout, and whether set at runtime', ok: { status: 200, body: DestinationSchema, description: 'the destination' }, errors: { ...ADMIN_ONLY, ...NO_DESTINATION } },
    },
    {
      method: 'post', path: '/admin/destination', handler: audited({ action: 'destination.update', before: destination })(setDestination(ctx)), guards,
      request: destinationChangeSchema(ctx.config.destAllowedHosts), invalidBody: 'invalid_destination',
      docs: { summary: 'Move deliveries to another URL (a host in DEST_ALLOWED_HOSTS) or timeout, for every replica within 2 s from their next request; stored in Postgres', ok: { status: 200, body: DestinationSchema, description: 'the destination now in force' }, errors: { 400: 'invalid URL, a host not allowed, or a timeout out of range', ...ADMIN_ONLY, ...NO_DESTINATION, ...UNLOGGABLE } },
    },
    {
      method: 'delete', path: '/admin/destination', handler: audited({ action: 'destination.reset', before: destination })(resetDestination(ctx)), guards, body: 'none',
      docs: { summary: "Forget the runtime destination: the environment's applies again, on every replica within 2 s", ok: { status: 200, body: DestinationSchema, description: 'the destination now in force' }, errors: { ...ADMIN_ONLY, ...NO_DESTINATION, ...UNLOGGABLE } },
    },
    ...deadLetterRoutes(ctx.deadLetters, guards, ctx.logger, (handler) => handler, audited),
  ];
}
