import { redisKeys, type Logger, type StoredFinvizConfig } from '@tsp/core';
import type { IngestContext } from './ingest-context';

/**
 * Tells every screener replica of a stored config change at once; they also re-read Postgres now
 * and then, so a lost message only delays it. Answers whether the announcement went out; `logger`
 * is the request's.
 */
export async function announceFinvizConfig(ctx: IngestContext, stored: StoredFinvizConfig, logger: Logger): Promise<boolean> {
  try {
    await ctx.redis.publish(redisKeys(ctx.config.keyPrefix).finvizConfigUpdated, JSON.stringify(stored));
    return true;
  } catch (error) {
    logger.warn('stored the Finviz config but could not announce it; the screener reads it from Postgres within seconds', {
      error: (error as Error).message,
    });
    return false;
  }
}
