import { redisKeys, type OpenPosition, type PositionBook } from '@tsp/core';
import type { PrismaClient } from '../generated/client';
import { encodeAuditRecord } from './audit-trail';
import type { PositionCorrectionRecord } from './audit-records';
import { durablePositions } from './durable-positions';

export type CorrectionOutcome = { changed: true; before: OpenPosition | null; after: OpenPosition | null } | { changed: false; current: OpenPosition | null };

/**
 * Positions opened or closed by hand, without a trade (when the broker and tsp disagree). The book
 * in Redis (what the approver decides SELLs against) changes at once; the durable copy in Postgres
 * follows through the audit outbox, in the same atomic step, so it applies the correction in order
 * with the deliveries queued around it (a BUY delivered just before a close never reopens it there).
 */
export class PositionCorrections {
  private readonly outboxKey: string;

  constructor(private readonly book: PositionBook, private readonly prisma: PrismaClient) {
    this.outboxKey = redisKeys(book.deployment).auditOutbox;
  }

  /** Opens the ticker's position now (with `lastPrice`, if given) unless it is open. */
  open(ticker: string, lastPrice: number | null, now = new Date()): Promise<CorrectionOutcome> {
    const position: OpenPosition = { ticker, openedAt: now.toISOString(), lastPrice, signalId: null };
    return this.correct({ open: position }, { type: 'position', ticker, open: position, at: now.toISOString() }, position);
  }

  /** Closes the ticker's position unless none is open. */
  close(ticker: string, now = new Date()): Promise<CorrectionOutcome> {
    return this.correct({ close: ticker }, { type: 'position', ticker, open: null, at: now.toISOString() }, null);
  }

  private async correct(change: { open: OpenPosition } | { close: string }, record: PositionCorrectionRecord, after: OpenPosition | null): Promise<CorrectionOutcome> {
    // Twice at most: the book may be lost (a Redis restart) between loading it and the script.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await this.book.ensureLoaded(() => durablePositions(this.prisma, this.book.deployment));
      const result = await this.book.correct(change, this.outboxKey, encodeAuditRecord(record));
      if ('unloaded' in result) continue;
      return result.changed ? { changed: true, before: result.before, after } : { changed: false, current: result.before };
    }
    throw new Error('the position book in Redis keeps vanishing; try again');
  }
}
