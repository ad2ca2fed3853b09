import { z } from 'zod';
import { adminTokenGuard, type Config, type Route } from '@tsp/core';
import type { ScreenerLoop } from './screener-loop';

/** What the OpenAPI document says the screener is. */
export const SCREENER_ABOUT = 'The screener of tsp: scrapes the Finviz screener (or its Elite export) and publishes the Top-N set to Redis; one replica, the elected leader, scrapes. Admin routes need Bearer ADMIN_TOKEN.';

const ADMIN_ONLY = { 401: 'Bearer ADMIN_TOKEN required' };

const RunReportSchema = z.object({
  outcome: z.string().describe('ok, a fetch failure, or not_configured, not_leader (another replica scrapes), deferred (Finviz\'s Retry-After), paused, internal_error'),
  at: z.string(),
  duration_ms: z.number(),
  published: z.boolean().describe('a set was written to Redis by this pass'),
  changed: z.boolean().describe('the published set differed from the previous one'),
  snapshot_id: z.string().nullable(),
  tickers_read: z.number().nullable(),
  total: z.number().nullable(),
  pages: z.number().nullable().describe('requests the pass made'),
  duplicates_dropped: z.number().nullable(),
  error: z.string().nullable(),
});

const AdminStateSchema = z.looseObject({
  replica: z.string(),
  leader: z.boolean(),
  current_leader: z.string().nullable(),
  mode: z.string(),
  settings: z.looseObject({}).describe('the settings in use (credentials redacted)'),
  last_fetch_outcome: z.string().nullable(),
  last_fetch_at: z.string().nullable(),
  last_success_at: z.string().nullable(),
  consecutive_failures: z.number(),
  backoff: z.object({ backing_off: z.boolean(), push_backs: z.number(), retry_after_until: z.string().nullable() }),
  next_fetch_at: z.string().nullable(),
  last: RunReportSchema.nullable(),
});

/** Admin routes of the screener. (/health, /ready, /status, /metrics, /openapi.json, /docs come from core.) */
export function screenerRoutes(config: Config, loop: ScreenerLoop, state: () => Promise<unknown>): Route[] {
  const admin = [adminTokenGuard(config.adminToken)];
  return [
    {
      method: 'post',
      path: '/admin/refresh',
      guards: admin,
      body: 'none',
      handler: async () => ({ status: 200, body: await loop.refreshNow() }),
      docs: {
        summary: 'Scrape now instead of at the next tick (after a config fix, or to check a block is over); a follower answers not_leader, during a Retry-After deferred. Any body is ignored',
        ok: { status: 200, body: RunReportSchema.nullable(), description: 'the pass, or why none ran' },
        errors: ADMIN_ONLY,
      },
    },
    {
      method: 'get',
      path: '/admin/state',
      guards: admin,
      handler: async () => ({ status: 200, body: await state() }),
      docs: {
        summary: 'Leader or not, the last fetch and its outcome, back-off, the next fetch, the settings in use',
        ok: { status: 200, body: AdminStateSchema, description: "this replica's state" },
        errors: ADMIN_ONLY,
      },
    },
  ];
}
