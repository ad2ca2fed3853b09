import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type IORedis from 'ioredis';
import type { Logger } from '@tsp/core';

export interface LeaderElectionOptions {
  redis: IORedis;
  /** The lock key, shared by every replica of one deployment. */
  key: string;
  /**
   * How long the lock lives without a renewal, read afresh each round (it follows the refresh
   * period). A dead leader is replaced at most about this long after its last renewal.
   */
  ttlMs: () => number;
  logger: Logger;
}

/** What the election tells its listeners. */
export interface LeaderElectionEvents {
  /** This replica became the leader. */
  elected: [];
  /** It stopped being the leader (lost the lock, could not renew it in time, or stopped). */
  deposed: [];
}

/** Extends the lock only while it is still ours: a replica never prolongs another's lock. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Releases the lock only while it is still ours. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * One leader among the screener replicas, through a Redis lock with a TTL: `SET key id NX PX ttl`
 * to take it, a compare-and-extend script to renew it every third of the TTL. The leader counts
 * itself leader only until its last successful renewal plus the TTL (minus a margin), so a leader
 * cut off from Redis stops before the lock expires and another replica takes over.
 */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  /** This replica's id: the lock's value while it leads. */
  readonly id = randomUUID();
  private leaderUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private wasLeader = false;
  private round: Promise<void> | null = null;

  constructor(private readonly options: LeaderElectionOptions) {
    super();
  }

  get isLeader(): boolean {
    return !this.stopped && Date.now() < this.leaderUntil;
  }

  /** Tries at once, then every third of the TTL. */
  async start(): Promise<void> {
    await this.tick();
  }

  /** Who holds the lock now (this replica's id or another's), null when nobody does. */
  async currentLeader(): Promise<string | null> {
    return this.options.redis.get(this.options.key);
  }

  /** Stops campaigning and hands the lock back, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.round) await this.round;
    if (this.wasLeader) {
      this.wasLeader = false;
      this.leaderUntil = 0;
      this.emit('deposed');
      await this.options.redis.eval(RELEASE, 1, this.options.key, this.id).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const round = this.campaign().finally(() => {
      this.round = null;
    });
    this.round = round;
    await round;
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(100, Math.floor(this.options.ttlMs() / 3)));
  }

  private async campaign(): Promise<void> {
    const { redis, key } = this.options;
    const ttlMs = Math.max(1000, Math.round(this.options.ttlMs()));
    const startedAt = Date.now();
    try {
      const held = this.wasLeader
        ? Number(await redis.eval(RENEW, 1, key, this.id, String(ttlMs))) === 1
        : (await redis.set(key, this.id, 'PX', ttlMs, 'NX')) === 'OK';
      // Counted from before the command was sent, less a margin for clock drift between hosts.
      if (held) this.leaderUntil = startedAt + ttlMs - Math.min(250, ttlMs / 10);
      else this.leaderUntil = 0;
    } catch (error) {
      // Redis unreachable: keep what we have until it runs out; isLeader turns false by itself.
      this.options.logger.debug('leader lock round failed', { error: (error as Error).message });
    }
    this.notify();
  }

  private notify(): void {
    const leader = this.isLeader;
    if (leader === this.wasLeader) return;
    this.wasLeader = leader;
    if (leader) {
      this.options.logger.info('this screener replica is now the leader: it scrapes Finviz', { replica: this.id });
      this.emit('elected');
    } else {
      this.options.logger.warn('this screener replica is no longer the leader: it stops scraping', { replica: this.id });
      this.emit('deposed');
    }
  }
}
