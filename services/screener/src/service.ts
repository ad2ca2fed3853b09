import {
  closeServer, ConfigError, createRegistry, createServiceApp, listen, pingRedis, redisKeys, waitForRedis,
  type Config, type Logger, type RunningService, type ServingHttp,
} from '@tsp/core';
import { pingPostgres } from '@tsp/db';
import type IORedis from 'ioredis';
import type { Registry } from 'prom-client';
import { openConnections, type ScreenerConnections } from './connections';
import { FinvizSettingsStore } from './finviz-settings';
import { createScraper } from './finviz/scraper';
import { LeaderElection } from './leader-election';
import { PauseWatch } from './pause-watch';
import { TopnPublisher } from './publish-topn';
import { RefreshRequests } from './refresh-requests';
import { SCREENER_ABOUT, screenerRoutes } from './routes';
import { ScreenerLoop } from './screener-loop';
import { createScreenerMetrics, type ScreenerMetrics } from './screener-metrics';
import { screenerAdminState, screenerStatus, type ScreenerParts } from './screener-status';

export type RunningScreener = RunningService & ServingHttp;

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
  const connections = openConnections(config, logger);
  // A bad finviz_config.json stops the start: nothing may stay open, or the process would not exit.
  const { parts, registry } = await assemble(config, logger, connections).catch(async (error: unknown) => {
    await connections.close();
    throw error;
  });
  const app = serviceApp(parts, registry, connections, logger);
  const server = await listen(app, config.ports.screener);
  const port = (server.address() as { port: number }).port;
  // The first round elects this replica if no other leads; the leader's first fetch follows at once.
  await parts.election.start();
  logger.info(`screener listening on port ${port}`, {
    ...parts.settings.describe(), mode: config.finvizUseElite ? 'elite' : 'html', leader: parts.election.isLeader, paused: parts.pause.paused,
  });

  let stopping: Promise<void> | null = null;
  const stop = async () => {
    // No more refresh requests are taken: one left waiting is served by the next leader.
    parts.refreshRequests.stop();
    // The pass in progress is aborted; the set in Redis stays as it was.
    await parts.loop.stop();
    // Hands the lock back: another replica takes over at once instead of after the TTL.
    await parts.election.stop();
    parts.settings.stop();
    parts.pause.stop();
    await closeServer(server);
    await connections.close();
  };
  // Idempotent: a second call waits for the first instead of closing closed connections.
  return { port, app, stop: () => (stopping ??= stop()) };
}

/** Builds the parts, each knowing only what it needs; the loop follows the others through their events. */
async function assemble(config: Config, logger: Logger, connections: ScreenerConnections) {
  const { redis, subscriber, prisma } = connections;
  const prefix = config.keyPrefix;
  const keys = redisKeys(prefix);
  const settings = new FinvizSettingsStore({ config, prisma, subscriber, logger });
  const election = new LeaderElection({ redis, key: keys.screenerLeader, ttlMs: () => leaderTtlMs(settings.settings.refreshSec), logger });
  const publisher = new TopnPublisher({ redis, prisma, prefix, logger, fence: () => (election.isLeader ? { key: keys.screenerLeader, owner: election.id } : null) });
  const pause = new PauseWatch({ redis, subscriber, prefix, logger });
  await loadCurrentSet(redis, publisher, logger);
  await settings.start().catch((error: unknown) => {
    settings.stop();
    throw error;
  });
  // Read before the first election round, so a replica started while paused never scrapes.
  await pause.start();

  const registry = createRegistry('screener');
  const metrics = createScreenerMetrics(registry, { current: () => publisher.current, isLeader: () => election.isLeader, isPaused: () => pause.paused });
  const loop = createLoop(config, logger, { redis, settings, election, publisher, pause, metrics });
  settings.on('change', () => loop.settingsChanged());
  pause.on('paused', () => loop.paused());
  pause.on('resumed', () => loop.wake());
  election.on('elected', () => void takeOver(redis, keys.screenerNextFetch, publisher, loop, logger));
  // Refreshes asked for from the console (through Redis: ingest knows no screener's address).
  const refreshRequests = new RefreshRequests({ redis, subscriber, prefix, logger, isLeader: () => election.isLeader, refresh: () => loop.requestedRefresh() });
  refreshRequests.start();
  const parts: ScreenerParts = { config, settings, pause, election, publisher, loop, refreshRequests };
  return { parts, registry };
}

async function loadCurrentSet(redis: IORedis, publisher: TopnPublisher, logger: Logger): Promise<void> {
  if (!(await waitForRedis(redis, REDIS_START_WAIT_MS))) {
    logger.warn(`Redis is not reachable at start-up; the screener keeps retrying`);
    return;
  }
  await publisher.load().catch((error: Error) => logger.warn('could not read the current Top-N set', { error: error.message }));
}

interface LoopInputs {
  redis: IORedis;
  settings: FinvizSettingsStore;
  election: LeaderElection;
  publisher: TopnPublisher;
  pause: PauseWatch;
  metrics: ScreenerMetrics;
}

/** The loop, reading Finviz the way the configuration says and publishing through the publisher. */
function createLoop(config: Config, logger: Logger, { redis, settings, election, publisher, pause, metrics }: LoopInputs): ScreenerLoop {
  const nextFetchKey = redisKeys(config.keyPrefix).screenerNextFetch;
  const scrape = createScraper(config, logger, { onOutcome: (outcome) => metrics.fetched(outcome), onLogin: (outcome) => metrics.loggedIn(outcome) });
  return new ScreenerLoop({
    settings: () => settings.settings,
    scrape: async (url, topN, signal) => {
      const result = await scrape(url, topN, signal);
      metrics.duplicatesDropped(result.duplicatesDropped);
      return result;
    },
    publish: (tickers, topN, source, fetchedAt, details) => publisher.publish(tickers, topN, source, fetchedAt, details),
    logger,
    isLeader: () => election.isLeader,
    isPaused: () => pause.paused,
    // Shared, so a replica taking over keeps to the back-off (and pace) of the one before it.
    onScheduled: (at) => {
      void redis.set(nextFetchKey, String(at), 'PX', Math.max(1000, at - Date.now()) + 60_000).catch(() => undefined);
    },
  });
}

/**
 * This replica was elected: adopt the set another replica may have published since it last
 * looked, and fetch no sooner than the previous leader's next fetch (which may be a back-off).
 */
async function takeOver(redis: IORedis, nextFetchKey: string, publisher: TopnPublisher, loop: ScreenerLoop, logger: Logger): Promise<void> {
  await publisher.reload().catch((error: Error) => logger.warn('could not read the current Top-N set', { error: error.message }));
  const notBefore = Number(await redis.get(nextFetchKey).catch(() => null)) || 0;
  loop.wake(notBefore);
}

function serviceApp(parts: ScreenerParts, registry: Registry, { redis, prisma }: ScreenerConnections, logger: Logger) {
  return createServiceApp({
    service: 'screener',
    about: SCREENER_ABOUT,
    logger,
    routes: screenerRoutes(parts.config, parts.loop, screenerAdminState(parts)),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    notReadyReason: () => (parts.settings.settings.url ? null : 'FINVIZ_URL is not set: no Top-N set is published'),
    status: screenerStatus(parts),
    metrics: registry,
  });
}

