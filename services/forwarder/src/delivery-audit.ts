import type IORedis from 'ioredis';
import { redisKeys, type DeadReason, type Logger, type Side } from '@tsp/core';
import type { PrismaClient } from '@tsp/db';

/** One delivery attempt's outcome, as the audit trail records it. */
export interface AttemptRecord {
  type: 'attempt';
  signalId: string;
  attempt: number;
  at: string;
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  status: 'forwarded' | 'retrying' | 'dead';
  reason: DeadReason | null;
  ticker: string;
  side: Side;
  price: number | null;
}

/** A signal that outlived SIGNAL_TTL_SEC before an attempt could start. */
export interface ExpiryRecord {
  type: 'expired';
  signalId: string;
}

export type AuditRecord = AttemptRecord | ExpiryRecord;

const WRITE_TIMEOUT_MS = 3000;
const FLUSH_INTERVAL_MS = 1000;
const FLUSH_LOCK_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Postgres did not answer within ${ms} ms`)), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * Writes delivery outcomes to Postgres without ever holding up delivery: when Postgres is down
 * a record goes to an outbox list in Redis and is applied, in order, once Postgres answers.
 * Every record is idempotent (upserts, guarded updates), so applying one twice is harmless.
 */
export class DeliveryAudit {
  private readonly keys;
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(private readonly prisma: PrismaClient, private readonly redis: IORedis, prefix: string, private readonly logger: Logger) {
    this.keys = redisKeys(prefix);
  }

  async record(record: AuditRecord): Promise<void> {
    // Behind a backlog, writing directly would overtake older records of the same signal.
    const backlog = await this.redis.llen(this.keys.auditOutbox);
    if (backlog === 0) {
      try {
        await withTimeout(this.apply(record), WRITE_TIMEOUT_MS);
        return;
      } catch (error) {
        this.logger.warn('audit write failed; kept in the Redis outbox until Postgres answers', { id: record.signalId, error: (error as Error).message });
      }
    }
    await this.redis.rpush(this.keys.auditOutbox, JSON.stringify(record));
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Applies outbox records oldest first; one replica at a time, so none is skipped or reordered. */
  async flush(): Promise<number> {
    if (this.flushing) return 0;
    this.flushing = true;
    let applied = 0;
    try {
      const locked = await this.redis.set(this.keys.auditOutboxLock, process.pid.toString(), 'PX', FLUSH_LOCK_MS, 'NX');
      if (!locked) return 0;
      try {
        for (;;) {
          const head = await this.redis.lindex(this.keys.auditOutbox, 0);
          if (head === null) break;
          await withTimeout(this.apply(JSON.parse(head) as AuditRecord), WRITE_TIMEOUT_MS);
          await this.redis.lpop(this.keys.auditOutbox);
          await this.redis.pexpire(this.keys.auditOutboxLock, FLUSH_LOCK_MS);
          applied++;
        }
      } finally {
        await this.redis.del(this.keys.auditOutboxLock);
      }
    } catch (error) {
      this.logger.debug('audit outbox not flushed yet', { error: (error as Error).message });
    } finally {
      this.flushing = false;
    }
    if (applied > 0) this.logger.info(`applied ${applied} audit records from the outbox`);
    return applied;
  }

  async pending(): Promise<number> {
    return this.redis.llen(this.keys.auditOutbox);
  }

  private async apply(record: AuditRecord): Promise<void> {
    if (record.type === 'expired') {
      await this.prisma.signal.updateMany({
        where: { id: record.signalId, status: { notIn: ['forwarded'] } },
        data: { status: 'dead', reason: 'expired' },
      });
      return;
    }
    const at = new Date(record.at);
    const delivery = { at, httpStatus: record.httpStatus, latencyMs: record.latencyMs, error: record.error };
    await this.prisma.delivery.upsert({
      where: { signalId_attempt: { signalId: record.signalId, attempt: record.attempt } },
      create: { signalId: record.signalId, attempt: record.attempt, ...delivery },
      update: delivery,
    });
    // A late record of an earlier attempt must not overwrite the outcome of a later one.
    await this.prisma.signal.updateMany({
      where: { id: record.signalId, deliveries: { none: { attempt: { gt: record.attempt } } } },
      data: { status: record.status, reason: record.reason },
    });
    if (record.status === 'forwarded') await this.applyPosition(record, at);
  }

  /** A delivered BUY opens (or keeps open) the ticker's position; a delivered SELL closes it. */
  private async applyPosition(record: AttemptRecord, at: Date): Promise<void> {
    if (record.side === 'SELL') {
      await this.prisma.position.deleteMany({ where: { ticker: record.ticker } });
      return;
    }
    await this.prisma.position.upsert({
      where: { ticker: record.ticker },
      create: { ticker: record.ticker, openedAt: at, lastPrice: record.price, signalId: record.signalId },
      update: record.price === null ? {} : { lastPrice: record.price },
    });
  }
}
