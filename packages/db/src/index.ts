import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from '../generated/client';

export { PrismaClient, Prisma };
export type { Signal, Delivery, Position, TopnSnapshot } from '../generated/client';

/** A Prisma client over adapter-pg (no Rust engine: works offline). */
export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 3000 }) });
}

export async function pingPostgres(prisma: PrismaClient): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}

export * from './dead-letters';
export * from './signal-view';
export * from './dead-letter-handlers';
export * from './audit-trail';
export * from './durable-positions';
