import { Queue } from 'bullmq';
import {
  closeServer, createRegistry, PositionBook, createServiceApp, createWorkerConnections, createWorkerRedis, isTopnStale, LaneWaker, listen, pingRedis, QUEUE,
  SystemStats, TickerLanes, topnAgeSec, warnUnlessNoEviction, type Config, type Logger, type RunningService, type ServingHttp,
} from '@tsp/core';
import { AuditTrail, createAuditPool, createPrisma, pingPostgres } from '@tsp/db';
import { TopnCache } from './topn-cache';
import { createApproveWorker } from './approve-worker';
import { createApproverMetrics } from './approver-metrics';
import { APPROVER_ABOUT, approverRoutes } from './routes';
import { DecisionLedger } from './decision-ledger';
import { LateApprovals } from './late-approvals';

export async function startApprover(config: Config, logger: Logger): Promise<RunningService & ServingHttp> {
  const { redis, queueConnection, workerConnection } = createWorkerConnections(config.redis);
  const subscriber = createWorkerRedis(config.redis);
  const prisma = createPrisma(config.databaseUrl);
  await warnUnlessNoEviction(redis, logger);

  const topn = new TopnCache(redis, subscriber, config.keyPrefix, logger);
  await topn.start();
  const forwardQueue = new Queue(QUEUE.forward, { connection: queueConnection, prefix: config.keyPrefix });
  // For waking the signals parked until their turn: SELLs here, deliveries in the forwarder.
  const signalsQueue = new Queue(QUEUE.signals, { connection: queueConnection, prefix: config.keyPrefix });
  const lanes = new TickerLanes(redis, config.keyPrefix);
  const registry = createRegistry('approver');
  const auditPool = createAuditPool(config.databaseUrl);
  const audit = new AuditTrail(auditPool, redis, config.keyPrefix, logger);
  audit.start();
  const stats = new SystemStats(redis, config.keyPrefix);
  const metrics = createApproverMetrics(registry, topn, config.topnMaxAgeSec);
  const late = new LateApprovals({ config, redis, forwardQueue, lanes, audit, stats, metrics, logger });
  topn.onLoad((set) => void late.admit(set));
  const worker = createApproveWorker({
    config, logger, connection: workerConnection, prisma, topn, forwardQueue, lanes,
    waker: new LaneWaker({ [QUEUE.signals]: signalsQueue, [QUEUE.forward]: forwardQueue }, logger),
    ledger: new DecisionLedger(redis, config.keyPrefix, audit, stats, lanes),
    positions: new PositionBook(redis, config.keyPrefix),
    metrics, late,
  });

  const app = createServiceApp({
    service: 'approver',
    about: APPROVER_ABOUT,
    logger,
    routes: approverRoutes(config, topn),
    readiness: { redis: () => pingRedis(redis), postgres: () => pingPostgres(prisma) },
    status: async () => {
      const set = topn.current;
      return {
        service: 'approver',
        concurrency: config.workerConcurrency,
        running: worker.isRunning(),
        sell_policy: config.sellPolicy,
        max_lag_sec: config.signalMaxLagSec,
        reapprove_window_sec: config.reapproveWindowSec,
        topn: set ? { snapshot_id: set.snapshot_id, count: set.tickers.length, top_n: set.top_n, age_sec: topnAgeSec(set), stale: isTopnStale(set, config.topnMaxAgeSec) } : null,
      };
    },
    metrics: registry,
  });
  const server = await listen(app, config.ports.approver);
  const port = (server.address() as { port: number }).port;
  logger.info(`approver listening on port ${port}, concurrency ${config.workerConcurrency}`);

  return {
    port,
    app,
    async stop() {
      // close() waits for in-flight decisions; a job it cannot finish is retaken after its lock expires.
      await worker.close();
      topn.stop();
      await late.stop();
      await audit.close();
      await closeServer(server);
      await Promise.all([forwardQueue.close(), signalsQueue.close()]);
      await prisma.$disconnect();
      await auditPool.end();
      for (const connection of [redis, subscriber, workerConnection, queueConnection]) connection.disconnect();
    },
  };
}
