import { Queue } from 'bullmq';
import {
  closeServer, createFailFastRedis, createWorkerRedis, PositionBook, withCoalescedWrites, createRegistry, createServiceApp, listen, pingRedis, QUEUE, requireWebhookAuth, SystemStats, TickerLanes,
  UNAUTHENTICATED_WEBHOOK_WARNING, waitForRedis, warnUnlessNoEviction, type Config, type Logger, type RunningService, type ServingHttp,
} from '@tsp/core';
import { AdminActionLog, createPrisma, createSearchPool, DeadLetters, pingPostgres, PositionCorrections } from '@tsp/db';
import type { IngestContext } from './ingest-context';
import { INGEST_ABOUT, ingestRoutes } from './routes';
import { CONSOLE_PAGES, CONSOLE_SECURITY_SCHEMES } from './console-pages';
import { readPresentedApiDocs } from './presented-api-docs';
import { IdempotencyStore } from './signal/idempotency';
import { SignalIntake } from './signal/signal-intake';
import { ReplicaAck } from './signal/replica-ack';
import { BacklogWatch } from './backlog-watch';
import { backPressure } from './handlers/receive-signal';
import { createIpAllowlist } from './ip-allowlist';
import { createIngestMetrics } from './ingest-metrics';
import { registerSystemMetrics } from './system-metrics';
import { ReceivedTally } from './received-tally';
import { getSystemStatus } from './handlers/get-system-status';
import { mountBullBoard } from './bull-board';
import { mountAdminPage } from './admin-page';
import { AdminDoor } from './admin-door';
import { LoginThrottle, TOKEN_THROTTLE } from './login-throttle';
import { AcceptedSignalEvents } from './live/accepted-signal-events';
import { SignalEventHub } from './live/signal-event-hub';

/** Below this, a secret could be guessed; the throttles slow guessing, they cannot make a short secret safe. */
const SHORT_SECRET_LENGTH = 16;

function warnOfShortSecrets(config: Config, logger: Logger): void {
  const secrets = { ADMIN_TOKEN: config.adminToken, FINVIZ_UPDATE_TOKEN: config.finvizUpdateToken, WEBHOOK_SECRET: config.webhookSecret };
  for (const [name, value] of Object.entries(secrets)) {
    if (value && value.length < SHORT_SECRET_LENGTH) logger.warn(`${name} has ${value.length} characters; use at least ${SHORT_SECRET_LENGTH} random ones (e.g. openssl rand -hex 24)`);
  }
}

export async function startIngest(config: Config, logger: Logger): Promise<RunningService & ServingHttp> {
  // Refuses to start (ConfigError) with neither a secret nor an allow-list, unless WEBHOOK_AUTH=none.
  if (requireWebhookAuth(config) === 'none') logger.warn(UNAUTHENTICATED_WEBHOOK_WARNING);
  warnOfShortSecrets(config, logger);
  const isAllowedIp = createIpAllowlist(config.webhookAllowedIps);
  // Auto-pipelining writes the commands of concurrent requests to Redis together: fewer syscalls per signal.
  const redis = withCoalescedWrites(createFailFastRedis(config.redis, { enableAutoPipelining: true }));
  const prisma = createPrisma(config.databaseUrl);
  const queueOptions = { connection: redis, prefix: config.keyPrefix };
  const signalsQueue = new Queue(QUEUE.signals, queueOptions);
  const forwardQueue = new Queue(QUEUE.forward, queueOptions);
  const backlog = new BacklogWatch(signalsQueue, redis, config.keyPrefix);
  const lanes = new TickerLanes(redis, config.keyPrefix);
  // Accepting a signal is one script call: on a connection of its own, without BullMQ's scripts (see LaneEnqueueScript).
  // Its writes coalesce per loop turn: a burst's calls leave in one write (withCoalescedWrites).
  const intakeConnection = withCoalescedWrites(createFailFastRedis(config.redis));
  const registry = createRegistry('ingest');

  if (!(await waitForRedis(redis))) logger.warn('Redis is not answering yet; /ready will say so until it does');
  await warnUnlessNoEviction(redis, logger);
  backlog.start();

  const stats = new SystemStats(redis, config.keyPrefix);
  const positions = new PositionBook(redis, config.keyPrefix);
  registerSystemMetrics(registry, stats, backlog, config.auditOutboxMax);
  const accepted = new AcceptedSignalEvents(redis, config.keyPrefix, logger);
  const deadLetters = new DeadLetters({ prisma, forwardQueue, lanes, prefix: config.keyPrefix, maxAttempts: config.forwardMaxAttempts, signalTtlSec: config.signalTtlSec });
  const ctx: IngestContext = {
    config,
    logger,
    redis,
    prisma,
    searchPool: createSearchPool(config.databaseUrl),
    signalsQueue,
    forwardQueue,
    intake: new SignalIntake(signalsQueue, new IdempotencyStore(redis, config.keyPrefix), config.keyPrefix, intakeConnection, (signal) => accepted.add(signal),
      config.redisWaitReplicas > 0 ? new ReplicaAck(intakeConnection, config.redisWaitReplicas, config.redisWaitTimeoutMs, logger) : null),
    backlog,
    stats,
    positions,
    positionCorrections: new PositionCorrections(positions, prisma),
    adminActions: new AdminActionLog(prisma, config.keyPrefix),
    lanes,
    deadLetters,
    received: new ReceivedTally(redis, stats, config.keyPrefix, logger),
    accepted,
    events: new SignalEventHub(redis, () => createWorkerRedis(config.redis), config.keyPrefix, config.adminEventsMaxConnections, logger),
    isAllowedIp,
    adminDoor: new AdminDoor(redis, config),
    credentialThrottle: new LoginThrottle(redis, config.keyPrefix, TOKEN_THROTTLE),
    metrics: createIngestMetrics(registry, { [QUEUE.signals]: signalsQueue, [QUEUE.forward]: forwardQueue }, deadLetters),
  };

  ctx.received.start();

  const app = createServiceApp({
    service: 'ingest',
    about: INGEST_ABOUT,
    logger,
    routes: ingestRoutes(ctx),
    mounted: CONSOLE_PAGES,
    securitySchemes: CONSOLE_SECURITY_SCHEMES,
    // The one port an operator usually reaches presents all four services' documents at /docs.
    presents: readPresentedApiDocs(logger),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    // Refusing signals (503) is not being ready for them: a load balancer should know.
    notReadyReason: () => backPressure(ctx),
    status: getSystemStatus(ctx),
    metrics: registry,
    trustProxy: config.trustProxy,
    mount: (express) => {
      mountAdminPage(express, ctx.adminDoor);
      mountBullBoard(express, [signalsQueue, forwardQueue], ctx.adminDoor);
    },
  });
  const server = await listen(app, config.ports.ingest);
  const port = (server.address() as { port: number }).port;
  logger.info(`ingest listening on port ${port}`);

  return {
    port,
    app,
    async stop() {
      // Live feeds end first, so their browsers reconnect to another replica and the server closes at once.
      await ctx.events.close();
      await closeServer(server);
      backlog.stop();
      await ctx.received.stop();
      await accepted.stop();
      await Promise.allSettled([signalsQueue.close(), forwardQueue.close()]);
      await prisma.$disconnect();
      await ctx.searchPool.end();
      // QUIT is answered after every command sent before it, so none is cut off unanswered (a rejected
      // promise nobody waits for any more); with Redis down it fails at once (fail-fast connections).
      await Promise.allSettled([redis.quit(), intakeConnection.quit()]);
      redis.disconnect();
      intakeConnection.disconnect();
    },
  };
}
