import { deploymentOf, type OpenPosition, type PositionBook } from '@tsp/core';
import type { PrismaClient } from '../generated/client';

/** The durable copy of a deployment's open positions (and those written before positions were per deployment), as the position book loads it. */
export async function durablePositions(prisma: PrismaClient, deployment: string): Promise<OpenPosition[]> {
  const rows = await prisma.position.findMany({ where: { deployment: { in: [deploymentOf(deployment), ''] } } });
  return rows.map((row) => ({ ticker: row.ticker, openedAt: row.openedAt.toISOString(), lastPrice: row.lastPrice, signalId: row.signalId }));
}

/** Open positions from the book in Redis, loading it from Postgres first if Redis lost it. */
export async function openPositions(book: PositionBook, prisma: PrismaClient): Promise<OpenPosition[]> {
  const listed = await book.list();
  if (listed) return listed;
  await book.ensureLoaded(() => durablePositions(prisma, book.deployment));
  return (await book.list()) ?? [];
}

/** Whether the ticker has an open position, by the book in Redis (loaded from Postgres if lost). */
export async function hasOpenPosition(book: PositionBook, prisma: PrismaClient, ticker: string): Promise<boolean> {
  const open = await book.isOpen(ticker);
  if (open !== null) return open;
  await book.ensureLoaded(() => durablePositions(prisma, book.deployment));
  return (await book.isOpen(ticker)) ?? false;
}
