import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import type { Counter } from 'prom-client';
import type { Config, Logger, PositionBook, SystemStats } from '@tsp/core';
import type { PrismaClient } from '@tsp/db';
import type { IdempotencyStore } from './signal/idempotency';
import type { QueueDepth } from './queue-depth';
import type { ReceivedTally } from './received-tally';
import type { AdminDoor } from './admin-door';

/** Everything the ingest handlers need, built once in service.ts. */
export interface IngestContext {
  config: Config;
  logger: Logger;
  redis: IORedis;
  prisma: PrismaClient;
  signalsQueue: Queue;
  forwardQueue: Queue;
  idempotency: IdempotencyStore;
  queueDepth: QueueDepth;
  stats: SystemStats;
  positions: PositionBook;
  received: ReceivedTally;
  isAllowedIp: (ip: string) => boolean;
  /** Who may use the admin console and routes (ADMIN_TOKEN or a console session). */
  adminDoor: AdminDoor;
  metrics: { received: Counter; invalid: Counter };
}
