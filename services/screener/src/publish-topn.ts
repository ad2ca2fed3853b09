import { randomUUID } from 'node:crypto';
import type IORedis from 'ioredis';
import { deploymentOf, execPipeline, readTopnSet, redisKeys, withTimeout, type Logger, type TopnSet } from '@tsp/core';
import type { PrismaClient } from '@tsp/db';

export interface TopnPublisherOptions {
  redis: IORedis;
  prisma: PrismaClient;
  prefix: string;
  logger: Logger;
  /**
   * How long the history write may take before the set is published without waiting for it.
   * An unreachable Postgres can hang a connection attempt for minutes; the Top-N must not age
   * meanwhile, or every signal is rejected as topn_stale.
   */
  recordTimeoutMs?: number;
  /**
   * The leader lock a publish must still hold (checked inside Redis, atomically with the write),
   * so a replica that lost leadership mid-pass cannot overwrite the new leader's set.
   */
  fence?: () => { key: string; owner: string } | null;
}

/** What a scrape tells about the set beyond its tickers. */
export interface PublishDetails {
  /** Tickers read twice across page boundaries and dropped. */
  duplicatesDropped?: number;
}

/** The replica no longer holds the leader lock: it must not publish. */
export class NotLeaderError extends Error {
  constructor() {
    super('this replica is no longer the screener leader');
    this.name = 'NotLeaderError';
  }
}

/** SET the set and PUBLISH its announcement only while the lock is held by `owner`. */
const FENCED_PUBLISH = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('set', KEYS[2], ARGV[2])
redis.call('publish', ARGV[3], ARGV[4])
return 1`;

export interface PublishResult {
  set: TopnSet;
  /** True when this set differs from the previous one and got a new snapshot id. */
  changed: boolean;
}

const DEFAULT_RECORD_TIMEOUT_MS = 3000;
/** A Postgres outage of days must not grow memory without bound; the oldest rows are given up. */
const MAX_UNRECORDED = 1000;

/**
 * Publishes the Top-N set at `<prefix>:topn` and announces it on `<prefix>:topn:updated`.
 *
 * A snapshot id names one distinct set (tickers in order + top_n): an unchanged set keeps its
 * id and only gets a fresh `fetched_at`, so approvers see it as fresh while the audit trail
 * (signals record the snapshot id they were decided against) and the history stay compact.
 */
export class TopnPublisher {
  private readonly keys;
  /** The newest set decided on. Ahead of `published` only while a Redis write is failing. */
  private latest: TopnSet | null = null;
  /** Snapshots decided while Postgres was unreachable, oldest first: written on a later publish. */
  private unrecorded: TopnSet[] = [];
  private published: TopnSet | null = null;
  private loaded = false;

  constructor(private readonly options: TopnPublisherOptions) {
    this.keys = redisKeys(options.prefix);
  }

  /** The set last written to Redis by this process (or found there at start). */
  get current(): TopnSet | null {
    return this.published;
  }

  /**
   * Adopts the set already in Redis, so a restart that finds the same tickers keeps the
   * snapshot id instead of recording a spurious new snapshot.
   */
  /** Forgets what this process knew and adopts Redis's set (on becoming leader: another may have published). */
  async reload(): Promise<void> {
    const existing = await readTopnSet(this.options.redis, this.options.prefix);
    this.latest = existing;
    this.published = existing;
    this.loaded = true;
  }

  async load(): Promise<void> {
    const existing = await readTopnSet(this.options.redis, this.options.prefix);
    // A set published meanwhile by this process is newer than what Redis held at start.
    if (!this.loaded && !this.latest) {
      this.latest = existing;
      this.published = existing;
    }
    this.loaded = true;
  }

  async publish(tickers: string[], topN: number, source: string, fetchedAt: Date, details: PublishDetails = {}): Promise<PublishResult> {
    if (!this.loaded) await this.load();
    const fence = this.options.fence?.() ?? null;
    if (this.options.fence && !fence) throw new NotLeaderError();
    const top = tickers.slice(0, topN);
    const previous = this.latest;
    const changed = !previous || !sameSet(previous, top, topN);
    const set: TopnSet = {
      tickers: top,
      top_n: topN,
      fetched_at: fetchedAt.toISOString(),
      snapshot_id: previous && !changed ? previous.snapshot_id : randomUUID(),
      source,
      duplicates_dropped: details.duplicatesDropped ?? 0,
    };
    if (changed) this.unrecorded.push(set);
    this.latest = set;

    // History first, so a snapshot id an approver sees normally has its row already.
    if (this.unrecorded.length > 0) await this.recordPending();

    if (fence) {
      const written = await this.options.redis.eval(
        FENCED_PUBLISH, 2, fence.key, this.keys.topn, fence.owner, JSON.stringify(set), this.keys.topnUpdated, set.snapshot_id,
      );
      if (Number(written) !== 1) throw new NotLeaderError();
    } else {
      await execPipeline(this.options.redis.multi().set(this.keys.topn, JSON.stringify(set)).publish(this.keys.topnUpdated, set.snapshot_id));
    }
    this.published = set;
    return { set, changed };
  }

  /** Writes the pending history rows; a failure is logged and retried on the next publish, never fatal. */
  private async recordPending(): Promise<void> {
    const pending = this.unrecorded.slice(-MAX_UNRECORDED);
    try {
      await withTimeout(
        this.options.prisma.topnSnapshot.createMany({
          data: pending.map((set) => ({
            id: set.snapshot_id, tickers: set.tickers, topN: set.top_n, fetchedAt: new Date(set.fetched_at), source: set.source,
            deployment: deploymentOf(this.options.prefix), duplicatesDropped: set.duplicates_dropped ?? 0,
          })),
          // A write that timed out here may still have landed: retrying must not fail on it.
          skipDuplicates: true,
        }),
        this.options.recordTimeoutMs ?? DEFAULT_RECORD_TIMEOUT_MS,
      );
      this.unrecorded = this.unrecorded.filter((set) => !pending.includes(set));
    } catch (error) {
      this.unrecorded = this.unrecorded.slice(-MAX_UNRECORDED);
      this.options.logger.warn('could not record the Top-N snapshot in Postgres; publishing it anyway, will retry', {
        snapshot_ids: pending.map((set) => set.snapshot_id),
        error: (error as Error).message,
      });
    }
  }
}

function sameSet(set: TopnSet, tickers: string[], topN: number): boolean {
  return set.top_n === topN && set.tickers.length === tickers.length && set.tickers.every((ticker, i) => ticker === tickers[i]);
}
