import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import type { Counter } from 'prom-client';
import type { Config, DeadLetterStore, Logger, PositionBook, SystemStats, TickerLanes } from '@tsp/core';
import type { AdminActionLog, PositionCorrections, PrismaClient, SearchPool } from '@tsp/db';
import type { SignalIntake } from './signal/signal-intake';
import type { BacklogWatch } from './backlog-watch';
import type { ReceivedTally } from './received-tally';
import type { AdminDoor } from './admin-door';
import type { LoginThrottle } from './login-throttle';
import type { SignalEventHub } from './live/signal-event-hub';
import type { AcceptedSignalEvents } from './live/accepted-signal-events';

/** Everything the ingest handlers need, built once in service.ts. */
export interface IngestContext {
  config: Config;
  logger: Logger;
  redis: IORedis;
  prisma: PrismaClient;
  /** Plain pg connections for the signal search and the exports. */
  searchPool: SearchPool;
  signalsQueue: Queue;
  forwardQueue: Queue;
  /** Accepts signals: job, lane and idempotency key in one atomic step. */
  intake: SignalIntake;
  backlog: BacklogWatch;
  stats: SystemStats;
  positions: PositionBook;
  /** Positions opened or closed by hand (POST /positions/:ticker/open, /close). */
  positionCorrections: PositionCorrections;
  /** Every state-changing admin action (GET /admin/actions). */
  adminActions: AdminActionLog;
  lanes: TickerLanes;
  deadLetters: DeadLetterStore;
  received: ReceivedTally;
  /** Announces accepted signals on the console's live feed. */
  accepted: AcceptedSignalEvents;
  /** The live feed's reader and its browsers (GET /admin/events). */
  events: SignalEventHub;
  isAllowedIp: (ip: string) => boolean;
  /** Who may use the admin console and routes (ADMIN_TOKEN or a console session). */
  adminDoor: AdminDoor;
  /** Failed credentials per client address (the console's sign-in and every token-guarded route). */
  credentialThrottle: LoginThrottle;
  metrics: { received: Counter; invalid: Counter };
}
