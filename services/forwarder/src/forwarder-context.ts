import type { Queue } from 'bullmq';
import type { Config, DeadLetterStore, Logger } from '@tsp/core';
import type { AdminActionLog, PrismaClient } from '@tsp/db';
import type { DestinationRateLimiter } from './rate-limiter';

/** Everything the forwarder's admin handlers need, built once in service.ts. */
export interface ForwarderContext {
  config: Config;
  logger: Logger;
  prisma: PrismaClient;
  forwardQueue: Queue;
  limiter: DestinationRateLimiter;
  deadLetters: DeadLetterStore;
  /** Every state-changing admin action (listed by ingest's GET /admin/actions). */
  adminActions: AdminActionLog;
}
