import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import {
  addJobInLane, createWorkerRedis, DECISION_FIELD, DECISION_TTL_SEC, deliverableSignal, forwardJobOptions, isTopnStale, LuaScript, redisKeys, requestIdOfJob, STAT, TransactionAbortedError,
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
 * too (the trader's newer entry stands for it; approving both would enter twice). "Later" is the
 * ticker's lane order (the sequence ingest took when it acknowledged each signal), never clocks.
 * Every signal the approver takes is first "seen" (its sequence noted) before it is decided, so a
 * crash cannot let a late BUY slip past an exit already decided; a BUY is offered only if nothing
 * later was seen. And since a later signal may still wait in the queue, unseen, the approval
 * itself is one WATCHed transaction that first looks at the lane: any signal there acknowledged
 * after the BUY cancels it, and any change to the lane or the ticker's keys meanwhile aborts it.
 */

/**
 * KEYS: pending, seen, lane. ARGV: signal id, window (s). Notes the signal's lane sequence as seen
 * and cancels a pending BUY acknowledged before it; answers the sequence (nil once it has ended).
 */
const SEE = new LuaScript('tspLateSee', `
local seq = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]))
if not seq then return nil end
local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
if seq > seen then redis.call('SET', KEYS[2], seq, 'EX', ARGV[2]) end
local pending = redis.call('GET', KEYS[1])
if pending and tonumber(cjson.decode(pending).seq) < seq then redis.call('DEL', KEYS[1]) end
return seq`);

/** KEYS: pending, seen. ARGV: lane sequence, pending JSON, window (s). Offers the BUY unless a later signal was seen. */
const OFFER = new LuaScript('tspLateOffer', `
local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
if seen > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`);

/** KEYS: pending. ARGV: the pending JSON read. Deletes it if it is still that one. */
const CANCEL = new LuaScript('tspLateCancel', `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

interface Pending {
  /** Its place in the ticker's order (the lane sequence ingest took when it acknowledged it). */
  seq: number;
  /** Received at, ms: for SIGNAL_TTL_SEC. */
  at: number;
  /** When the window closes, ms. */
  until: number;
  signal: SignalJob;
}

export interface LateApprovalsDeps {
  config: Config;
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
  /** The latest set not looked at yet: sets that come while one is checked collapse into the newest. */
  private next: TopnSet | null = null;
  private draining: Promise<void> | null = null;

  constructor(private readonly deps: LateApprovalsDeps) {
    this.keys = redisKeys(deps.config.keyPrefix);
    this.windowSec = deps.config.reapproveWindowSec;
  }

  get enabled(): boolean {
    return this.windowSec > 0;
  }

  /**
   * Before a signal is decided: it cancels any pending BUY of its ticker acknowledged before it.
   * Answers its lane sequence, for offer() (null when off, or when the signal had ended already).
   */
  async see(signal: SignalJob): Promise<number | null> {
    if (!this.enabled) return null;
    const lane = this.deps.lanes.keysOf(signal.ticker).lane;
    const seq = await SEE.run(this.deps.redis, [this.keys.latePending(signal.ticker), this.keys.lateSeen(signal.ticker), lane], [signal.id, this.windowSec + 60]);
    return seq === null ? null : Number(seq);
  }

  /** After a BUY was rejected not_in_topn: it may still pass within the window. `seq`: what see() answered. */
  async offer(signal: SignalJob, decision: Decision, seq: number | null): Promise<void> {
    if (!this.enabled || seq === null || signal.side !== 'BUY' || signal.kind !== 'source' || decision.approved || decision.reason !== 'not_in_topn') return;
    const pending: Pending = { seq, at: Date.parse(signal.receivedAt), until: Date.now() + this.windowSec * 1000, signal };
    await OFFER.run(this.deps.redis, [this.keys.latePending(signal.ticker), this.keys.lateSeen(signal.ticker)], [seq, JSON.stringify(pending), this.windowSec]);
  }

  /** On each Top-N set: approves the pending BUYs of the tickers it ranks within top_n. Never throws. */
  admit(set: TopnSet | null): Promise<void> {
    if (this.enabled && set && !isTopnStale(set, this.deps.config.topnMaxAgeSec)) {
      this.next = set;
      this.draining ??= this.drain().finally(() => { this.draining = null; });
    }
    return this.draining ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.next = null;
    await this.draining;
    this.connection?.disconnect();
  }

  private async drain(): Promise<void> {
    for (let set = this.next; set; set = this.next) {
      this.next = null;
      try {
        await this.admitNow(set);
      } catch (error) {
        this.deps.logger.warn('late approvals not checked; the next Top-N set checks again', { error: (error as Error).message });
      }
    }
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
    const laneKey = lanes.keysOf(ticker).lane;
    await connection.watch(pendingKey, this.keys.lateSeen(ticker), laneKey);
    const raw = await connection.get(pendingKey);
    const pending = raw ? (JSON.parse(raw) as Pending) : null;
    const now = Date.now();
    if (!pending || now > pending.until || now >= pending.at + config.signalTtlSec * 1000) {
      await connection.unwatch();
      return;
    }
    // A signal of the ticker acknowledged after it and not decided yet: it stands for the trader's
    // latest intent, and the BUY would reach the broker after it.
    if ((await connection.zrangebyscore(laneKey, `(${pending.seq}`, '+inf', 'LIMIT', 0, 1)).length > 0) {
      await connection.unwatch();
      await CANCEL.run(this.deps.redis, [pendingKey], [raw!]);
      logger.info('late approval cancelled: a later signal of the ticker is on its way', { id: pending.signal.id, ticker, request_id: requestIdOfJob(pending.signal) ?? undefined });
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
    logger.info('signal approved late: its ticker entered the Top-N', { id: signal.id, ticker, rank, snapshot_id: snapshotId, request_id: requestIdOfJob(signal) ?? undefined });
  }

  private ownConnection(): IORedis {
    this.connection ??= createWorkerRedis(this.deps.config.redis);
    return this.connection;
  }
}
