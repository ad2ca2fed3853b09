import { randomUUID } from 'node:crypto';
import type IORedis from 'ioredis';
import { z } from 'zod';
import { redisKeys } from './names';
import { execPipeline } from './redis';
import { parseJsonWith } from './schemas';

/**
 * Asking the screener to scrape now, from ingest (POST /admin/screener/refresh, the console's
 * button), which cannot reach the screener's port and does not know which replica leads.
 *
 * The request is one Redis key, `<prefix>:screener:refresh`, announced on
 * `<prefix>:screener:refresh:requested`. The leader takes it (read and deleted in one step, so one
 * request makes one pass even across a leader change) and scrapes at once, as POST /admin/refresh
 * on the screener does; followers leave it alone. A lost announcement is covered by the leader
 * looking at the key every second. The key expires after SCREENER_REFRESH_REQUEST_TTL_MS: with no
 * screener running, or none leading, a request does not wait to fire long after it was wanted.
 * Asking again while one waits answers the waiting request (one pass either way, and whoever
 * asked first still sees the outcome of the request they were given).
 *
 * How the pass went is kept at `<prefix>:screener:refresh:last` for an hour, for the console.
 */

/** A waiting request older than this is dropped unserved. */
export const SCREENER_REFRESH_REQUEST_TTL_MS = 30_000;
/** How long the last requested refresh's outcome is kept for the console. */
export const SCREENER_REFRESH_RESULT_TTL_MS = 3_600_000;

export const ScreenerRefreshRequestSchema = z.object({
  id: z.string().describe('names this request (the screener logs it, and the outcome carries it)'),
  requested_at: z.string().describe('when it was asked for (ISO-8601)'),
  by: z.string().describe('which credential asked (ADMIN_TOKEN, a console session, ...)'),
  reason: z.string().nullable().describe("the operator's note, if one was given"),
});
export type ScreenerRefreshRequest = z.infer<typeof ScreenerRefreshRequestSchema>;

export const ScreenerRefreshResultSchema = ScreenerRefreshRequestSchema.extend({
  done_at: z.string().describe('when the leader finished the pass (ISO-8601)'),
  outcome: z.string().describe("the pass's outcome: ok, a fetch failure, or paused, deferred (Finviz's Retry-After), not_leader, not_configured"),
  published: z.boolean().describe('a set was written to Redis by the pass'),
  changed: z.boolean().describe('the published set differed from the previous one'),
  snapshot_id: z.string().nullable(),
  error: z.string().nullable(),
});
export type ScreenerRefreshResult = z.infer<typeof ScreenerRefreshResultSchema>;

/**
 * Asks the leading screener replica to scrape now; answers the request and until when it waits to
 * be taken. A request already waiting is answered instead (`already_pending`), not replaced.
 */
export async function requestScreenerRefresh(redis: IORedis, prefix: string, by: string, reason: string | null, now = new Date()): Promise<ScreenerRefreshRequest & { expires_at: string; already_pending: boolean }> {
  const keys = redisKeys(prefix);
  for (let attempt = 0; attempt < 3; attempt++) {
    const request: ScreenerRefreshRequest = { id: randomUUID(), requested_at: now.toISOString(), by, reason };
    if (await redis.set(keys.screenerRefresh, JSON.stringify(request), 'PX', SCREENER_REFRESH_REQUEST_TTL_MS, 'NX')) {
      await redis.publish(keys.screenerRefreshRequested, request.id);
      return { ...request, expires_at: new Date(now.getTime() + SCREENER_REFRESH_REQUEST_TTL_MS).toISOString(), already_pending: false };
    }
    // One waits: answer it, with when it lapses. (Taken meanwhile: ask again.)
    const [raw, ttlMs] = await execPipeline(redis.multi().get(keys.screenerRefresh).pttl(keys.screenerRefresh));
    const waiting = typeof raw === 'string' ? parseJsonWith(ScreenerRefreshRequestSchema, raw) : null;
    if (waiting && Number(ttlMs) > 0) {
      return { ...waiting, expires_at: new Date(Date.now() + Number(ttlMs)).toISOString(), already_pending: true };
    }
  }
  throw new Error('the refresh request kept changing hands; ask again');
}

/** Takes the waiting request, if any (it is gone for every other replica); an unreadable one counts as a request by nobody known. */
export async function takeScreenerRefresh(redis: IORedis, prefix: string): Promise<ScreenerRefreshRequest | null> {
  const keys = redisKeys(prefix);
  const [raw] = await execPipeline(redis.multi().get(keys.screenerRefresh).del(keys.screenerRefresh));
  if (raw === null || raw === undefined) return null;
  const parsed = parseJsonWith(ScreenerRefreshRequestSchema, raw as string);
  return parsed ?? { id: 'unknown', requested_at: new Date().toISOString(), by: 'unknown', reason: null };
}

/** Whether a request waits for the leader (for /status). */
export async function screenerRefreshPending(redis: IORedis, prefix: string): Promise<boolean> {
  return (await redis.exists(redisKeys(prefix).screenerRefresh)) === 1;
}

export async function recordScreenerRefresh(redis: IORedis, prefix: string, result: ScreenerRefreshResult): Promise<void> {
  await redis.set(redisKeys(prefix).screenerRefreshLast, JSON.stringify(result), 'PX', SCREENER_REFRESH_RESULT_TTL_MS);
}

/** How the last requested refresh went, within the last hour; null if none (or unreadable). */
export async function readScreenerRefreshResult(redis: IORedis, prefix: string): Promise<ScreenerRefreshResult | null> {
  const raw = await redis.get(redisKeys(prefix).screenerRefreshLast);
  return raw === null ? null : parseJsonWith(ScreenerRefreshResultSchema, raw);
}
