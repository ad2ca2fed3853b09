import type IORedis from 'ioredis';
import { redisKeys, withTimeout, type DeadReason, type Decision, type Logger, type Side, type SignalJob } from '@tsp/core';
import { Prisma, type PrismaClient } from '../generated/client';

/** A signal and its decision, written once by the approver. */
export interface DecisionRecord {
  type: 'decision';
  signal: SignalJob;
  decision: Decision;
  decidedAt: string;
}

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

export type AuditRecord = DecisionRecord | AttemptRecord | ExpiryRecord;

/** As kept in the outbox: when it was queued, so a record Postgres keeps refusing can be set aside. */
type QueuedRecord = AuditRecord & { queuedAt?: number };

const signalIdOf = (record: AuditRecord) => (record.type === 'decision' ? record.signal.id : record.signalId);

const WRITE_TIMEOUT_MS = 3000;
const FLUSH_INTERVAL_MS = 1000;
const FLUSH_LOCK_MS = 10_000;
/** A record Postgres refuses (not merely unreachable) this long is moved aside, so it cannot block the rest. */
const POISON_AFTER_MS = 10 * 60_000;

/**
 * The audit trail's writer, shared by the approver (decisions) and the forwarder (attempts): it
 * never holds up a signal. When Postgres is down a record goes to one outbox list in Redis and is
 * applied, in order, once Postgres answers; a decision is queued before its signal is handed to
 * the forwarder, so a signal's row always comes before its attempts. Every record is idempotent
 * (create-if-absent, upserts, guarded updates), so applying one twice is harmless.
 */
export class AuditTrail {
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
        await withTimeout(this.apply(record), WRITE_TIMEOUT_MS, `Postgres did not answer within ${WRITE_TIMEOUT_MS} ms`);
        return;
      } catch (error) {
        this.logger.warn('audit write failed; kept in the Redis outbox until Postgres answers', { id: signalIdOf(record), error: (error as Error).message });
      }
    }
    await this.redis.rpush(this.keys.auditOutbox, JSON.stringify({ ...record, queuedAt: Date.now() }));
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
          const record = JSON.parse(head) as QueuedRecord;
          try {
            await withTimeout(this.apply(record), WRITE_TIMEOUT_MS, `Postgres did not answer within ${WRITE_TIMEOUT_MS} ms`);
          } catch (error) {
            if (!(error instanceof Prisma.PrismaClientKnownRequestError) || Date.now() - (record.queuedAt ?? Date.now()) < POISON_AFTER_MS) throw error;
            this.logger.error('audit record refused by Postgres for too long; moved to the failed outbox', { id: signalIdOf(record), error: error.message });
            await this.redis.rpush(this.keys.auditOutboxFailed, head);
          }
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
    if (record.type === 'decision') {
      await this.applyDecision(record);
      return;
    }
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

  private async applyDecision({ signal, decision, decidedAt }: DecisionRecord): Promise<void> {
    // skipDuplicates: the row may exist already (a re-run), possibly with a later delivery status.
    await this.prisma.signal.createMany({
      skipDuplicates: true,
      data: [{
        id: signal.id,
        kind: signal.kind,
        ticker: signal.ticker,
        side: signal.side,
        action: signal.action,
        price: signal.price ?? null,
        time: new Date(signal.time),
        receivedAt: new Date(signal.receivedAt),
        status: decision.approved ? 'approved' : 'rejected',
        reason: decision.approved ? null : decision.reason,
        basis: decision.approved ? decision.basis : null,
        rank: decision.rank,
        snapshotId: decision.snapshotId,
        idempotencyKey: signal.idempotencyKey ?? null,
        body: signal.body as Prisma.InputJsonValue,
        decidedAt: new Date(decidedAt),
      }],
    });
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
