import type { Queue } from 'bullmq';
import type { Config, DeadLetterStore, Logger } from '@tsp/core';
import type { AdminActionLog, PrismaClient } from '@tsp/db';
import type { DestinationRateLimiter } from './rate-limiter';
import type { RuntimeDestination } from './runtime-destination';

/** Everything the forwarder's admin handlers need, built once in service.ts. */
export interface ForwarderContext {
  config: Config;
  logger: Logger;
  prisma: PrismaClient;
  forwardQueue: Queue;
  limiter: DestinationRateLimiter;
  /** Null without DEST_WEBHOOK_URL. */
  destination: RuntimeDestination | null;
  deadLetters: DeadLetterStore;
  /** Every state-changing admin action (listed by ingest's GET /admin/actions). */
  adminActions: AdminActionLog;
}
