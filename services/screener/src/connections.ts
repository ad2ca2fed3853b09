import type IORedis from 'ioredis';
import { createFailFastRedis, createWorkerRedis, warnUnlessNoEviction, type Config, type Logger } from '@tsp/core';
import { createPrisma, type PrismaClient } from '@tsp/db';

/** The screener's connections: commands, announcements (subscriber mode), Postgres. */
export interface ScreenerConnections {
  redis: IORedis;
  subscriber: IORedis;
  prisma: PrismaClient;
  close(): Promise<void>;
}

export function openConnections(config: Config, logger: Logger): ScreenerConnections {
  // Fail-fast: while Redis is down a pass fails at once and the loop retries on its next tick,
  // rather than piling commands up and then publishing an old fetch late.
  const redis = createFailFastRedis(config.redis);
  redis.on('error', (error: Error) => logger.debug('redis connection error', { error: error.message }));
  // Checked on every (re)connect: a Redis restarted with another policy is caught too.
  redis.on('ready', () => void warnUnlessNoEviction(redis, logger));
  const subscriber = createWorkerRedis(config.redis);
  subscriber.on('error', (error: Error) => logger.debug('redis subscriber connection error', { error: error.message }));
  const prisma = createPrisma(config.databaseUrl);
  return {
    redis, subscriber, prisma,
    async close() {
      subscriber.disconnect();
      await redis.quit().catch(() => redis.disconnect());
      await prisma.$disconnect();
    },
  };
}
