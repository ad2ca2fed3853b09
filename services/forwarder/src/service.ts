import { Queue, type Worker } from 'bullmq';
import {
  closeServer, createRegistry, createServiceApp, createWorkerConnections, LaneWaker, listen, pingRedis, QUEUE, SystemStats,
  TickerLanes, warnUnlessNoEviction, type Config, type Logger, type RunningService, type ServingHttp,
} from '@tsp/core';
import { AdminActionLog, AuditTrail, createAuditPool, createPrisma, DeadLetters, DestinationSettingStore, pingPostgres } from '@tsp/db';
import { Destination } from './deliver';
import { DeliveryLedger } from './delivery-ledger';
import { RuntimeDestination } from './runtime-destination';

import { DestinationRateLimiter } from './rate-limiter';
import { createForwarderMetrics } from './forwarder-metrics';
import { createForwardWorker } from './forward-worker';
import { FORWARDER_ABOUT, forwarderRoutes } from './routes';

export async function startForwarder(config: Config, logger: Logger): Promise<RunningService & ServingHttp> {
  const { redis, queueConnection, workerConnection } = createWorkerConnections(config.redis);
  const prisma = createPrisma(config.databaseUrl);
  await warnUnlessNoEviction(redis, logger);

  const registry = createRegistry('forwarder');
  const auditPool = createAuditPool(config.databaseUrl);
  const audit = new AuditTrail(auditPool, redis, config.keyPrefix, logger);
  audit.start();
  const forwardQueue = new Queue(QUEUE.forward, { connection: queueConnection, prefix: config.keyPrefix });
  // For waking the signals parked until their turn: deliveries here, SELLs in the approver.
  const signalsQueue = new Queue(QUEUE.signals, { connection: queueConnection, prefix: config.keyPrefix });
  const lanes = new TickerLanes(redis, config.keyPrefix);
  const limiter = new DestinationRateLimiter({
    redisTarget: config.redis,
    redis,
    prefix: config.keyPrefix,
    maxPerMinute: config.destMaxReqPerMin,
    maxPerHour: config.destMaxReqPerHour,
    enabled: config.destRateLimitingEnabled,
    logger,
  });
  const metrics = createForwarderMetrics(registry, limiter);

  let worker: Worker | null = null;
  let runtimeDestination: RuntimeDestination | null = null;
  let stopping = false;
  if (config.destWebhookUrl) {
    await limiter.start();
    const stats = new SystemStats(redis, config.keyPrefix);
    const target = { url: config.destWebhookUrl, timeoutMs: config.destTimeoutMs };
    const destination = new Destination({ ...target, secret: config.destWebhookSecret });
    runtimeDestination = new RuntimeDestination(new DestinationSettingStore(prisma, config.keyPrefix), target, config.destAllowedHosts, destination, logger);
    const started = createForwardWorker({
      config, logger, connection: workerConnection, limiter, metrics, lanes, stats, destination,
      ledger: new DeliveryLedger(redis, config.keyPrefix, audit, stats, lanes),
      waker: new LaneWaker({ [QUEUE.signals]: signalsQueue, [QUEUE.forward]: forwardQueue }, logger),
    });
    worker = started;
    // No delivery before the destination in force is known (see RuntimeDestination).
    void runtimeDestination.load(() => stopping).then((loaded) => {
      if (loaded && !stopping) void started.run().catch((error: Error) => logger.error('forwarder worker stopped', { error: error.message }));
    });
  } else {
    logger.warn('DEST_WEBHOOK_URL is not set: approved signals wait in the forward queue until a forwarder with a destination runs');
  }

  const app = createServiceApp({
    service: 'forwarder',
    about: FORWARDER_ABOUT,
    logger,
    routes: forwarderRoutes({
      config, logger, prisma, forwardQueue, limiter, destination: runtimeDestination,
      adminActions: new AdminActionLog(prisma, config.keyPrefix),
      deadLetters: new DeadLetters({ prisma, forwardQueue, lanes, prefix: config.keyPrefix, maxAttempts: config.forwardMaxAttempts, signalTtlSec: config.signalTtlSec }),
    }),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    notReadyReason: () => (config.destWebhookUrl ? runtimeDestination?.waitingReason() ?? null : 'DEST_WEBHOOK_URL is not set; approved signals wait in the forward queue'),
    status: async () => ({
      service: 'forwarder',
      destination: runtimeDestination?.state() ?? null,
      signed: config.destWebhookSecret !== null,
      concurrency: config.forwardingWorkers,
      running: worker?.isRunning() ?? false,
      paused: await forwardQueue.isPaused().catch(() => null),
      rate_limit: limiter.state(),
      audit_outbox: await audit.pending().catch(() => null),
      queue: await forwardQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed').catch(() => null),
    }),
    metrics: registry,
  });
  const server = await listen(app, config.ports.forwarder);
  const port = (server.address() as { port: number }).port;
  logger.info(`forwarder listening on port ${port}, ${config.forwardingWorkers} workers, ${config.destRateLimitingEnabled ? `cap ${config.destMaxReqPerMin}/min` : 'no rate cap'}`);

  return {
    port,
    app,
    async stop() {
      // Deliveries waiting for a rate-limit slot go back to the queue; in-flight ones finish
      // (close() waits); anything it cannot finish is retaken after its lock expires.
      stopping = true;
      runtimeDestination?.stop();
      await limiter.release();
      await worker?.close();
      await audit.close();
      await closeServer(server);
      await limiter.stop();
      await Promise.all([forwardQueue.close(), signalsQueue.close()]);
      await prisma.$disconnect();
      await auditPool.end();
      for (const connection of [redis, workerConnection, queueConnection]) connection.disconnect();
    },
  };
}
