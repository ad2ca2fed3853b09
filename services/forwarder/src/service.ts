import { Queue, type Worker } from 'bullmq';
import {
  closeServer, createRegistry, PositionBook, createServiceApp, createWorkerConnections, listen, pingRedis, QUEUE, redisKeys, SystemStats,
  warnUnlessNoEviction, type Config, type Logger, type RunningService,
} from '@tsp/core';
import { AuditTrail, createAuditPool, createPrisma, pingPostgres } from '@tsp/db';
import { Destination } from './deliver';

import { DestinationRateLimiter } from './rate-limiter';
import { createForwarderMetrics } from './forwarder-metrics';
import { createForwardWorker } from './forward-worker';
import { forwarderRoutes } from './routes';

export async function startForwarder(config: Config, logger: Logger): Promise<RunningService & { port: number }> {
  const { redis, queueConnection, workerConnection } = createWorkerConnections(config.redisUrl);
  const prisma = createPrisma(config.databaseUrl);
  await warnUnlessNoEviction(redis, logger);

  const registry = createRegistry('forwarder');
  const metrics = createForwarderMetrics(registry);
  const auditPool = createAuditPool(config.databaseUrl);
  const audit = new AuditTrail(auditPool, redis, config.keyPrefix, logger);
  audit.start();
  const forwardQueue = new Queue(QUEUE.forward, { connection: queueConnection, prefix: config.keyPrefix });
  const limiter = new DestinationRateLimiter({
    redisUrl: config.redisUrl,
    redis,
    limiterId: redisKeys(config.keyPrefix).limiterId,
    capKey: redisKeys(config.keyPrefix).rateCap,
    startLogKey: redisKeys(config.keyPrefix).destinationStarts,
    maxPerMinute: config.destMaxReqPerMin,
    enabled: config.destRateLimitingEnabled,
    logger,
  });

  let worker: Worker | null = null;
  if (config.destWebhookUrl) {
    await limiter.start();
    worker = createForwardWorker({
      config, logger, connection: workerConnection, redis, limiter, audit, metrics,
      positions: new PositionBook(redis, config.keyPrefix),
      destination: new Destination({ url: config.destWebhookUrl, timeoutMs: config.destTimeoutMs, secret: config.destWebhookSecret }),
      stats: new SystemStats(redis, config.keyPrefix),
    });
  } else {
    logger.warn('DEST_WEBHOOK_URL is not set: approved signals wait in the forward queue until a forwarder with a destination runs');
  }

  const app = createServiceApp({
    service: 'forwarder',
    logger,
    routes: forwarderRoutes({ config, logger, prisma, forwardQueue, limiter }),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    notReadyReason: () => (config.destWebhookUrl ? null : 'DEST_WEBHOOK_URL is not set; approved signals wait in the forward queue'),
    status: async () => ({
      service: 'forwarder',
      destination: config.destWebhookUrl ? new URL(config.destWebhookUrl).origin : null,
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
    async stop() {
      // Deliveries waiting for a rate-limit slot go back to the queue; in-flight ones finish
      // (close() waits); anything it cannot finish is retaken after its lock expires.
      await limiter.release();
      await worker?.close();
      await audit.close();
      await closeServer(server);
      await limiter.stop();
      await forwardQueue.close();
      await prisma.$disconnect();
      await auditPool.end();
      for (const connection of [redis, workerConnection, queueConnection]) connection.disconnect();
    },
  };
}
