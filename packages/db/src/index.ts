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
  return survivingPostgresRestarts(new Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 3000 }));
}

/**
 * A connection dropped by a Postgres restart emits 'error', and an 'error' event nobody listens to
 * ends the process. The pool listens for its idle connections only; a connection checked out (a
 * batch between its BEGIN and COMMIT) has no listener, so each gets one of its own. The failure
 * still reaches the caller: its query is rejected, and the pool discards the connection on release.
 */
function survivingPostgresRestarts(pool: Pool): Pool {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Plain pg connections for the console's searches and the exports (see searchSignals): a few, as
 * an operator's paging and an export or two are all that read through them at once.
 */
export type SearchPool = Pool;

export function createSearchPool(databaseUrl: string): SearchPool {
  return survivingPostgresRestarts(new Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 3000 }));
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
