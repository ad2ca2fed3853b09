import type IORedis from 'ioredis';
import { redisKeys, STAT, type StatName } from './names';
import { E2E_BUCKETS } from './metrics';

/** Counts kept per label value (reason, basis, outcome), for the system-wide /metrics of ingest. */
export type LabelledCount = 'approved' | 'rejected' | 'forward_attempts';

export interface E2eDistribution {
  /** Cumulative counts per upper bound (seconds), as a Prometheus histogram has them. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

const labelledField = (counter: string, label: string) => `${counter}|${label}`;

/** One counter to add to: a hash field of Redis and by how much. */
export interface CounterIncrement {
  key: string;
  field: string;
  by: number;
  /** A fractional amount (a sum of seconds), added with HINCRBYFLOAT. */
  float?: boolean;
}

/**
 * Lua for scripts that count along with other writes: adds ARGV[argIndex + 2i], ARGV[argIndex +
 * 2i + 1] (field, amount) to KEYS[keyIndex + i] for each counter, whole amounts exactly.
 */
export const COUNT_LUA = `
local function countAll(keyIndex, argIndex)
  for i = keyIndex, #KEYS do
    local field, by = ARGV[argIndex + 2 * (i - keyIndex)], ARGV[argIndex + 2 * (i - keyIndex) + 1]
    if string.find(by, '[.eE]') then redis.call('HINCRBYFLOAT', KEYS[i], field, by) else redis.call('HINCRBY', KEYS[i], field, by) end
  end
end`;

/** The keys and ARGV pairs COUNT_LUA's countAll reads: keys go last in KEYS, pairs last in ARGV. */
export function countArgs(counters: CounterIncrement[]): { keys: string[]; args: string[] } {
  return { keys: counters.map((c) => c.key), args: counters.flatMap((c) => [c.field, c.float ? c.by.toFixed(9) : String(Math.trunc(c.by))]) };
}

/**
 * System-wide counters kept in Redis, so /status and /metrics on any ingest replica report the
 * whole relay, whichever replica of whichever service did the work.
 */
export class SystemStats {
  private readonly keys;

  constructor(private readonly redis: IORedis, prefix: string) {
    this.keys = redisKeys(prefix);
  }

  /** Counts one event; with a label (e.g. the rejection reason) it is also counted per label. */
  async increment(stat: StatName, by = 1, label?: string): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const { key, field } of this.counterFields(stat, label)) pipeline.hincrby(key, field, by);
    if (stat === STAT.received) {
      const key = this.keys.statsMinute(Math.floor(Date.now() / 60_000));
      pipeline.incrby(key, by).expire(key, 3600);
    }
    await pipeline.exec();
  }

  /** One delivery attempt by outcome (delivered, retry, dead, expired). */
  async countAttempt(outcome: string): Promise<void> {
    await this.redis.hincrby(this.keys.statsLabelled, labelledField('forward_attempts', outcome), 1);
  }

  /**
   * One delivered signal: counted as forwarded, as a delivered attempt, and its time from receipt
   * in the e2e distribution, for a script that counts as it records the delivery. The
   * distribution keeps one count per bucket (the smallest that holds the value); readE2e() makes
   * them cumulative.
   */
  deliveryCounters(e2eSeconds: number): CounterIncrement[] {
    const bucket = E2E_BUCKETS.find((le) => e2eSeconds <= le);
    return [
      { key: this.keys.stats, field: STAT.forwarded, by: 1 },
      { key: this.keys.statsLabelled, field: labelledField('forward_attempts', 'delivered'), by: 1 },
      { key: this.keys.statsE2e, field: bucket === undefined ? 'le:+Inf' : `le:${bucket}`, by: 1 },
      { key: this.keys.statsE2e, field: 'count', by: 1 },
      { key: this.keys.statsE2e, field: 'sum', by: e2eSeconds, float: true },
    ];
  }

  /** A failed attempt by outcome (retry, dead, expired), counted as failed, and as dead when it ends the signal. */
  failureCounters(outcome: 'retry' | 'dead' | 'expired', countsAsAttempt: boolean): CounterIncrement[] {
    return [
      ...(countsAsAttempt ? [{ key: this.keys.stats, field: STAT.failed, by: 1 }] : []),
      { key: this.keys.statsLabelled, field: labelledField('forward_attempts', outcome), by: 1 },
      ...(outcome === 'retry' ? [] : [{ key: this.keys.stats, field: STAT.dead, by: 1 }]),
    ];
  }

  /** The hash fields increment(stat, by, label) adds to; public for a script that counts as it writes. */
  counterFields(stat: StatName, label?: string): { key: string; field: string }[] {
    const total = { key: this.keys.stats, field: stat };
    return label ? [total, { key: this.keys.statsLabelled, field: labelledField(stat, label) }] : [total];
  }

  async read(): Promise<Record<StatName, number> & { signals_per_minute: number }> {
    const minute = Math.floor(Date.now() / 60_000);
    const [hash, lastMinute] = await Promise.all([
      this.redis.hgetall(this.keys.stats),
      this.redis.get(this.keys.statsMinute(minute - 1)),
    ]);
    const counts = Object.fromEntries(Object.values(STAT).map((name) => [name, Number(hash[name] ?? 0)])) as Record<StatName, number>;
    return { ...counts, signals_per_minute: Number(lastMinute ?? 0) };
  }

  async readLabelled(): Promise<Record<LabelledCount, Record<string, number>>> {
    const hash = await this.redis.hgetall(this.keys.statsLabelled);
    const out: Record<LabelledCount, Record<string, number>> = { approved: {}, rejected: {}, forward_attempts: {} };
    for (const [field, value] of Object.entries(hash)) {
      const [counter, label] = field.split('|') as [LabelledCount, string];
      if (counter in out) out[counter][label] = Number(value);
    }
    return out;
  }

  async readE2e(): Promise<E2eDistribution> {
    const hash = await this.redis.hgetall(this.keys.statsE2e);
    let cumulative = 0;
    return {
      buckets: E2E_BUCKETS.map((le) => ({ le, count: (cumulative += Number(hash[`le:${le}`] ?? 0)) })),
      count: Number(hash.count ?? 0),
      sum: Number(hash.sum ?? 0),
    };
  }
}
