import {
  closeServer, createFailFastRedis, createRegistry, createServiceApp, isTopnStale, listen, pingRedis, topnAgeSec,
  waitForRedis, warnUnlessNoEviction, type Config, type Logger, type RunningService,
} from '@tsp/core';
import { createPrisma, pingPostgres } from '@tsp/db';
import { TopnPublisher } from './publish-topn';
import { scrapeTopn } from './scrape-topn';
import { ScreenerLoop, type ScreenerSettings } from './screener-loop';
import { createScreenerMetrics } from './screener-metrics';
import { screenerRoutes } from './routes';

export interface RunningScreener extends RunningService {
  /** The bound HTTP port (SCREENER_PORT=0 picks a free one). */
  port: number;
}

/** Finviz usually answers in well under a second; a hung request must not stall the loop for long. */
const FETCH_TIMEOUT_MS = 10_000;
/** How long start-up waits for Redis before going on without it (the loop retries each pass). */
const REDIS_START_WAIT_MS = 3000;

export async function startScreener(config: Config, logger: Logger): Promise<RunningScreener> {
  // Fail-fast: while Redis is down a pass fails at once and the loop retries on its next tick,
  // rather than piling commands up and then publishing an old fetch late.
  const redis = createFailFastRedis(config.redisUrl);
  redis.on('error', (error: Error) => logger.debug('redis connection error', { error: error.message }));
  // Checked on every (re)connect: a Redis restarted with another policy is caught too.
  redis.on('ready', () => void warnUnlessNoEviction(redis, logger));
  const prisma = createPrisma(config.databaseUrl);

  const publisher = new TopnPublisher({ redis, prisma, prefix: config.keyPrefix, logger });
  if (await waitForRedis(redis, REDIS_START_WAIT_MS)) {
    await publisher.load().catch((error: Error) => logger.warn('could not read the current Top-N set', { error: error.message }));
  } else {
    logger.warn(`Redis is not reachable at start-up; the screener keeps retrying`);
  }

  const settings = (): ScreenerSettings => ({ url: config.finvizUrl, topN: config.topN, refreshSec: config.finvizRefreshSec });
  const registry = createRegistry('screener');
  const metrics = createScreenerMetrics(registry, () => publisher.current);
  const loop = new ScreenerLoop({
    settings,
    scrape: (url, topN, signal) => scrapeTopn(url, topN, { timeoutMs: FETCH_TIMEOUT_MS, signal }),
    publish: (tickers, topN, source, fetchedAt) => publisher.publish(tickers, topN, source, fetchedAt),
    logger,
    onFetch: (outcome) => metrics.fetched(outcome),
  });

  const app = createServiceApp({
    service: 'screener',
    logger,
    routes: screenerRoutes(config, loop),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    notReadyReason: () => (settings().url ? null : 'FINVIZ_URL is not set: no Top-N set is published'),
    status: async () => {
      const { url, topN, refreshSec } = settings();
      const set = publisher.current;
      return {
        service: 'screener',
        finviz_url: url ? redactUrl(url) : null,
        top_n: topN,
        refresh_sec: refreshSec,
        fetch: loop.status(),
        topn: set
          ? {
              snapshot_id: set.snapshot_id, tickers: set.tickers, count: set.tickers.length, top_n: set.top_n,
              fetched_at: set.fetched_at, age_sec: topnAgeSec(set), stale: isTopnStale(set, config.topnMaxAgeSec), source: set.source,
            }
          : null,
      };
    },
    metrics: registry,
  });
  const server = await listen(app, config.ports.screener);
  const port = (server.address() as { port: number }).port;
  loop.start();
  logger.info(`screener listening on port ${port}`, {
    finviz_url: config.finvizUrl ? redactUrl(config.finvizUrl) : null, top_n: config.topN, refresh_sec: config.finvizRefreshSec,
  });

  let stopping: Promise<void> | null = null;
  const stop = async () => {
    // The pass in progress is aborted; the set in Redis stays as it was.
    await loop.stop();
    await closeServer(server);
    await redis.quit().catch(() => redis.disconnect());
    await prisma.$disconnect();
  };
  return {
    port,
    // Idempotent: a second call waits for the first instead of closing closed connections.
    stop: () => (stopping ??= stop()),
  };
}

/** Elite URLs carry the API token in `auth=`; status pages and logs must not show it. */
function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    if (url.searchParams.has('auth')) url.searchParams.set('auth', '***');
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}
