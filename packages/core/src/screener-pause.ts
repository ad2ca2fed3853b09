import type IORedis from 'ioredis';
import { z } from 'zod';
import { redisKeys } from './names';
import { execPipeline } from './redis';
import { parseJsonWith } from './schemas';

/**
 * Pausing the screener, for every replica at once (POST /admin/screener/pause on ingest).
 *
 * The state is one Redis key, `<prefix>:screener:paused`, present while paused and deleted on
 * resume. It has no TTL on purpose: it is a single key of about a hundred bytes, and an expiry
 * would quietly resume scraping behind the operator's back. Being in Redis, it outlives restarts
 * of every service. Each change is announced on `<prefix>:screener:paused:changed` (the message
 * is only a nudge: screeners read the key itself), and screeners also read the key every second,
 * so a lost announcement delays a pause by about that much.
 *
 * While paused nothing is scraped or published: the Top-N set ages as usual and turns stale
 * after TOPN_MAX_AGE_SEC, so BUYs are rejected `topn_stale` (fail closed).
 */
export const ScreenerPauseSchema = z.object({
  paused_at: z.string().describe('when the pause began (ISO-8601)'),
  by: z.string().describe('which credential paused it (ADMIN_TOKEN, a console session, ...)'),
  reason: z.string().nullable().describe("the operator's note, if one was given"),
});
export type ScreenerPause = z.infer<typeof ScreenerPauseSchema>;

/** How a pause or a resume left things: the state before and after, for the caller's record. */
export interface ScreenerPauseChange {
  before: ScreenerPause | null;
  after: ScreenerPause | null;
}

/** The pause in force, null when the screener runs. An unreadable value counts as paused since an unknown time: someone meant to pause. */
export async function readScreenerPause(redis: IORedis, prefix: string): Promise<ScreenerPause | null> {
  return parsePause(await redis.get(redisKeys(prefix).screenerPaused));
}

/** Pauses every screener replica. Pausing again keeps the first pause (its time and who). */
export async function pauseScreener(redis: IORedis, prefix: string, by: string, reason: string | null, now = new Date()): Promise<ScreenerPauseChange> {
  const keys = redisKeys(prefix);
  const pause: ScreenerPause = { paused_at: now.toISOString(), by, reason };
  const [created, current] = await execPipeline(
    redis.multi().set(keys.screenerPaused, JSON.stringify(pause), 'NX').get(keys.screenerPaused).publish(keys.screenerPauseChanged, 'paused'),
  );
  const after = parsePause(current as string | null);
  return { before: created === 'OK' ? null : after, after };
}

/** Lets every screener replica scrape again (at once: each fetches as soon as its pace allows). */
export async function resumeScreener(redis: IORedis, prefix: string): Promise<ScreenerPauseChange> {
  const keys = redisKeys(prefix);
  const [previous] = await execPipeline(
    redis.multi().get(keys.screenerPaused).del(keys.screenerPaused).publish(keys.screenerPauseChanged, 'resumed'),
  );
  return { before: parsePause(previous as string | null), after: null };
}

function parsePause(raw: string | null): ScreenerPause | null {
  if (raw === null) return null;
  // Unreadable: still paused.
  return parseJsonWith(ScreenerPauseSchema, raw) ?? { paused_at: new Date(0).toISOString(), by: 'unknown', reason: 'the stored pause could not be read' };
}
