import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import {
  addJobInLane, createWorkerRedis, DECISION_FIELD, DECISION_TTL_SEC, deliverableSignal, forwardJobOptions, isTopnStale, LuaScript, redisKeys, STAT, TransactionAbortedError,
  type Config, type Decision, type ForwardJob, type Logger, type SignalJob, type SystemStats, type TickerLanes, type TopnSet,
} from '@tsp/core';
import type { AuditTrail } from '@tsp/db';
import type { ApproverMetrics } from './approver-metrics';

/**
 * Late approval (REAPPROVE_WINDOW_SEC, off at 0): a BUY rejected `not_in_topn` is approved if its
 * ticker enters the Top-N within the window while the signal is inside SIGNAL_TTL_SEC; it is then
 * delivered at the end of its ticker's order, audited with basis `late_topn` and the snapshot that
 * admitted it.
 *
 * Any later signal of the ticker cancels it: a SELL (no buy after its own exit), and a later BUY
 * too (the trader's newer entry stands for it; approving both would enter twice). So every signal
 * the approver takes is first "seen" — before it is decided, so that a crash cannot let a late
 * BUY slip past an exit already decided — and a BUY is offered for late approval only if nothing
 * later was seen. The approval itself is one WATCHed transaction: any change to the ticker's
 * pending or seen key in between (a cancelling signal) aborts it.
 */

/** KEYS: pending, seen. ARGV: received at (ms), window (s). Marks the signal seen; cancels a pending BUY received before it. */
const SEE = new LuaScript('tspLateSee', `
local at = tonumber(ARGV[1])
local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
if at > seen then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2]) end
local pending = redis.call('GET', KEYS[1])
if pending and tonumber(cjson.decode(pending).at) < at then redis.call('DEL', KEYS[1]) end
return 1`);

/** KEYS: pending, seen. ARGV: received at (ms), pending JSON, window (s). Offers the BUY unless a later signal was seen. */
const OFFER = new LuaScript('tspLateOffer', `
local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
if seen > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`);

interface Pending {
  /** Received at, ms: the order in which the ticker's signals came. */
  at: number;
  /** When the window closes, ms. */
  until: number;
  signal: SignalJob;
}

export interface LateApprovalsDeps {
  config: Config;
  redisUrl: string;
  redis: IORedis;
  forwardQueue: Queue;
  lanes: TickerLanes;
  audit: AuditTrail;
  stats: SystemStats;
  metrics: ApproverMetrics;
  logger: Logger;
}

export class LateApprovals {
  private readonly keys;
  private readonly windowSec: number;
  /** WATCH holds per connection: the approvals run one at a time on a connection of their own. */
  private connection: IORedis | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: LateApprovalsDeps) {
    this.keys = redisKeys(deps.config.keyPrefix);
    this.windowSec = deps.config.reapproveWindowSec;
  }

  get enabled(): boolean {
    return this.windowSec > 0;
  }

  /** Before a signal is decided: it cancels any pending BUY of its ticker received before it. */
  async see(signal: SignalJob): Promise<void> {
    if (!this.enabled) return;
    await SEE.run(this.deps.redis, [this.keys.latePending(signal.ticker), this.keys.lateSeen(signal.ticker)], [Date.parse(signal.receivedAt), this.windowSec + 60]);
  }

  /** After a BUY was rejected not_in_topn: it may still pass within the window. */
  async offer(signal: SignalJob, decision: Decision): Promise<void> {
    if (!this.enabled || signal.side !== 'BUY' || signal.kind !== 'source' || decision.approved || decision.reason !== 'not_in_topn') return;
    const at = Date.parse(signal.receivedAt);
    const pending: Pending = { at, until: Date.now() + this.windowSec * 1000, signal };
    await OFFER.run(this.deps.redis, [this.keys.latePending(signal.ticker), this.keys.lateSeen(signal.ticker)], [at, JSON.stringify(pending), this.windowSec]);
  }

  /** On each Top-N set: approves the pending BUYs of the tickers it ranks within top_n. Never throws. */
  admit(set: TopnSet | null): Promise<void> {
    if (!this.enabled || !set || isTopnStale(set, this.deps.config.topnMaxAgeSec)) return this.running;
    this.running = this.running.then(() => this.admitNow(set)).catch((error: Error) => {
      this.deps.logger.warn('late approvals not checked; the next Top-N set checks again', { error: error.message });
    });
    return this.running;
  }

  async stop(): Promise<void> {
    await this.running;
    this.connection?.disconnect();
  }

  private async admitNow(set: TopnSet): Promise<void> {
    const ranked = set.tickers.slice(0, set.top_n);
    if (!ranked.length) return;
    const waiting = await this.deps.redis.mget(...ranked.map((ticker) => this.keys.latePending(ticker)));
    for (let i = 0; i < ranked.length; i++) {
      if (waiting[i]) await this.approve(ranked[i], i + 1, set.snapshot_id);
    }
  }

  private async approve(ticker: string, rank: number, snapshotId: string): Promise<void> {
    const { config, forwardQueue, lanes, audit, stats, metrics, logger } = this.deps;
    const connection = this.ownConnection();
    const pendingKey = this.keys.latePending(ticker);
    await connection.watch(pendingKey, this.keys.lateSeen(ticker));
    const raw = await connection.get(pendingKey);
    const pending = raw ? (JSON.parse(raw) as Pending) : null;
    const now = Date.now();
    if (!pending || now > pending.until || now >= pending.at + config.signalTtlSec * 1000) {
      await connection.unwatch();
      return;
    }
    const { signal } = pending;
    const decision: Decision = { approved: true, basis: 'late_topn', rank, snapshotId };
    const forward: ForwardJob = { signal: deliverableSignal(signal), basis: 'late_topn', rank, snapshotId };
    const decisionKey = this.keys.decision(signal.id);
    try {
      await addJobInLane(lanes, config.keyPrefix, { queue: forwardQueue, name: 'forward', id: signal.id, ticker, data: forward, opts: forwardJobOptions(signal.id, config.forwardMaxAttempts) }, {
        connection,
        also: (multi) => {
          multi.del(pendingKey);
          multi.hset(decisionKey, DECISION_FIELD.decision, JSON.stringify(decision)).expire(decisionKey, DECISION_TTL_SEC);
          multi.rpush(audit.outboxKey, audit.encode({ type: 'late_approval', signalId: signal.id, rank, snapshotId, decidedAt: new Date(now).toISOString() }));
          // Counted approved instead of rejected: received still equals approved plus rejected.
          for (const { key, field } of stats.counterFields(STAT.approved, 'late_topn')) multi.hincrby(key, field, 1);
          for (const { key, field } of stats.counterFields(STAT.rejected, 'not_in_topn')) multi.hincrby(key, field, -1);
        },
      });
    } catch (error) {
      // A signal of the ticker came in between (the WATCH saw it): it decides; nothing was written.
      if (error instanceof TransactionAbortedError) return;
      throw error;
    }
    audit.queued();
    metrics.approved.inc({ basis: 'late_topn' });
    logger.info('signal approved late: its ticker entered the Top-N', { id: signal.id, ticker, rank, snapshot_id: snapshotId });
  }

  private ownConnection(): IORedis {
    this.connection ??= createWorkerRedis(this.deps.redisUrl);
    return this.connection;
  }
}
