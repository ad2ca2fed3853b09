import IORedis from 'ioredis';
import {
  closeServer, ConfigError, createFailFastRedis, createRegistry, createServiceApp, isTopnStale, listen, pingRedis, redactUrl,
  redisKeys, topnAgeSec, waitForRedis, warnUnlessNoEviction, type Config, type Logger, type RunningService,
} from '@tsp/core';
import { createPrisma, pingPostgres } from '@tsp/db';
import { EliteExport } from './elite-export';
import type { FetchScreenerOptions } from './fetch-screener';
import { FinvizSettingsStore } from './finviz-settings';
import { LeaderElection } from './leader-election';
import { TopnPublisher } from './publish-topn';
import { RequestGate } from './request-gate';
import { scrapeTopn, type Scraper } from './scrape-topn';
import { ScreenerLoop } from './screener-loop';
import { createScreenerMetrics } from './screener-metrics';
import { screenerRoutes } from './routes';

export interface RunningScreener extends RunningService {
  /** The bound HTTP port (SCREENER_PORT=0 picks a free one). */
  port: number;
}

/** Finviz usually answers in well under a second; a hung request must not stall the loop for long. */
const FETCH_TIMEOUT_MS = 10_000;
/** How long start-up waits for Redis before going on without it (the election retries each round). */
const REDIS_START_WAIT_MS = 3000;
/** The leader lock's TTL follows the refresh period (a dead leader is replaced within ~1⅓ of it), within these bounds. */
const LEADER_TTL_MIN_MS = 1000;
const LEADER_TTL_MAX_MS = 15_000;

export function leaderTtlMs(refreshSec: number): number {
  return Math.min(LEADER_TTL_MAX_MS, Math.max(LEADER_TTL_MIN_MS, Math.round(refreshSec * 1000)));
}

export async function startScreener(config: Config, logger: Logger): Promise<RunningScreener> {
  if (config.finvizUseElite && !config.finvizAuthToken && !(config.finvizEmail && config.finvizPassword)) {
    throw new ConfigError('FINVIZ_EMAIL', 'and FINVIZ_PASSWORD must both be set when FINVIZ_USE_ELITE=true and FINVIZ_AUTH_TOKEN is not');
  }
  const keys = redisKeys(config.keyPrefix);
  // Fail-fast: while Redis is down a pass fails at once and the loop retries on its next tick,
  // rather than piling commands up and then publishing an old fetch late.
  const redis = createFailFastRedis(config.redisUrl);
  redis.on('error', (error: Error) => logger.debug('redis connection error', { error: error.message }));
  // Checked on every (re)connect: a Redis restarted with another policy is caught too.
  redis.on('ready', () => void warnUnlessNoEviction(redis, logger));
  const subscriber = new IORedis(config.redisUrl, { maxRetriesPerRequest: null });
  subscriber.on('error', (error: Error) => logger.debug('redis subscriber connection error', { error: error.message }));
  const prisma = createPrisma(config.databaseUrl);

  // Declared before use by the closures below; assigned once everything exists.
  let loop: ScreenerLoop | null = null;
  let election: LeaderElection | null = null;
  const isLeader = () => election?.isLeader ?? false;

  const publisher = new TopnPublisher({
    redis, prisma, prefix: config.keyPrefix, logger,
    fence: () => (election?.isLeader ? { key: keys.screenerLeader, owner: election.id } : null),
  });
  if (await waitForRedis(redis, REDIS_START_WAIT_MS)) {
    await publisher.load().catch((error: Error) => logger.warn('could not read the current Top-N set', { error: error.message }));
  } else {
    logger.warn(`Redis is not reachable at start-up; the screener keeps retrying`);
  }

  const settings = new FinvizSettingsStore({ config, prisma, subscriber, logger, onChange: () => loop?.settingsChanged() });
  try {
    await settings.start();
  } catch (error) {
    // A bad finviz_config.json: nothing may stay open, or the process would not exit.
    settings.stop();
    subscriber.disconnect();
    redis.disconnect();
    await prisma.$disconnect();
    throw error;
  }

  const registry = createRegistry('screener');
  const metrics = createScreenerMetrics(registry, () => publisher.current, isLeader);
  const http: Omit<FetchScreenerOptions, 'signal'> = {
    timeoutMs: FETCH_TIMEOUT_MS,
    gate: new RequestGate(() => config.finvizPageDelayMs),
    allowedHosts: config.finvizAllowedHosts,
    onOutcome: (outcome) => metrics.fetched(outcome),
  };
  const scrape: Scraper = config.finvizUseElite
    ? new EliteExport({
        exportUrl: config.finvizExportUrl, loginUrl: config.finvizLoginUrl, authToken: config.finvizAuthToken,
        email: config.finvizEmail, password: config.finvizPassword, http, logger, onLogin: (outcome) => metrics.loggedIn(outcome),
      }).scrape
    : (url, topN, signal) => scrapeTopn(url, topN, { ...http, signal });

  const screenerLoop = new ScreenerLoop({
    settings: () => settings.settings,
    scrape: async (url, topN, signal) => {
      const result = await scrape(url, topN, signal);
      metrics.duplicatesDropped(result.duplicatesDropped);
      return result;
    },
    publish: (tickers, topN, source, fetchedAt, details) => publisher.publish(tickers, topN, source, fetchedAt, details),
    logger,
    isLeader,
    // Shared, so a replica taking over keeps to the back-off (and pace) of the one before it.
    onScheduled: (at) => {
      void redis.set(keys.screenerNextFetch, String(at), 'PX', Math.max(1000, at - Date.now()) + 60_000).catch(() => undefined);
    },
  });
  loop = screenerLoop;

  const leaderElection = new LeaderElection({
    redis,
    key: keys.screenerLeader,
    ttlMs: () => leaderTtlMs(settings.settings.refreshSec),
    logger,
    onElected: () => {
      void (async () => {
        // Another replica may have published since this one last looked.
        await publisher.reload().catch((error: Error) => logger.warn('could not read the current Top-N set', { error: error.message }));
        const notBefore = Number(await redis.get(keys.screenerNextFetch).catch(() => null)) || 0;
        screenerLoop.wake(notBefore);
      })();
    },
  });
  election = leaderElection;

  const state = async () => {
    const fetch = screenerLoop.status();
    return {
      replica: leaderElection.id,
      leader: leaderElection.isLeader,
      current_leader: await leaderElection.currentLeader().catch(() => null),
      mode: config.finvizUseElite ? (config.finvizAuthToken ? 'elite_token' : 'elite_login') : 'html',
      settings: settings.describe(),
      last_fetch_outcome: fetch.last?.outcome ?? null,
      last_fetch_at: fetch.last?.at ?? null,
      last_success_at: fetch.last_success_at,
      consecutive_failures: fetch.consecutive_failures,
      backoff: { backing_off: fetch.backing_off, push_backs: fetch.push_backs, retry_after_until: fetch.retry_after_until },
      next_fetch_at: fetch.next_fetch_at,
      last: fetch.last,
    };
  };

  const app = createServiceApp({
    service: 'screener',
    logger,
    routes: screenerRoutes(config, screenerLoop, state),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    notReadyReason: () => (settings.settings.url ? null : 'FINVIZ_URL is not set: no Top-N set is published'),
    status: async () => {
      const { url, topN, refreshSec } = settings.settings;
      const set = publisher.current;
      return {
        service: 'screener',
        finviz_url: url ? redactUrl(url) : null,
        top_n: topN,
        refresh_sec: refreshSec,
        config: settings.describe(),
        leader: leaderElection.isLeader,
        replica: leaderElection.id,
        fetch: screenerLoop.status(),
        topn: set
          ? {
              snapshot_id: set.snapshot_id, tickers: set.tickers, count: set.tickers.length, top_n: set.top_n,
              fetched_at: set.fetched_at, age_sec: topnAgeSec(set), stale: isTopnStale(set, config.topnMaxAgeSec), source: set.source,
              duplicates_dropped: set.duplicates_dropped ?? 0,
            }
          : null,
      };
    },
    metrics: registry,
  });
  const server = await listen(app, config.ports.screener);
  const port = (server.address() as { port: number }).port;
  // The first round elects this replica if no other leads; the leader's first fetch follows at once.
  await leaderElection.start();
  logger.info(`screener listening on port ${port}`, {
    ...settings.describe(), mode: config.finvizUseElite ? 'elite' : 'html', leader: leaderElection.isLeader,
  });

  let stopping: Promise<void> | null = null;
  const stop = async () => {
    // The pass in progress is aborted; the set in Redis stays as it was.
    await screenerLoop.stop();
    // Hands the lock back: another replica takes over at once instead of after the TTL.
    await leaderElection.stop();
    settings.stop();
    subscriber.disconnect();
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
