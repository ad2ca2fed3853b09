import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient, Prisma } from '../generated/client';

export { PrismaClient, Prisma };
export type { Signal, Delivery, Position, TopnSnapshot } from '../generated/client';

/** A Prisma client over adapter-pg (no Rust engine: works offline). */
export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 3000 }) });
}

/**
 * A small pool of plain pg connections for the audit trail's batch writes (see applyAuditBatch).
 * One flusher writes at a time, so two connections are plenty.
 */
export function createAuditPool(databaseUrl: string): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 3000 });
  // An idle connection dropped by a Postgres restart: the next write opens a new one. Without a
  // listener, pg's 'error' event would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Plain pg connections for the console's searches and the exports (see searchSignals): a few, as
 * an operator's paging and an export or two are all that read through them at once.
 */
export type SearchPool = Pool;

export function createSearchPool(databaseUrl: string): SearchPool {
  const pool = new Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 3000 });
  pool.on('error', () => undefined);
  return pool;
}

export async function pingPostgres(prisma: PrismaClient): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}

export * from './dead-letters';
export * from './signal-view';
export * from './audit-trail';
export * from './durable-positions';
export * from './finviz-config-store';
export * from './destination-setting-store';
export * from './admin-action-log';
export * from './position-corrections';
export * from './signal-search';
export * from './strategy-store';
export * from './signal-detail';
export * from './signal-activity';
