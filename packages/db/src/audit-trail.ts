import type { ChainableCommander, default as IORedis } from 'ioredis';
import { deploymentOf, redisKeys, SIGNAL_EVENTS_FIELD, SIGNAL_EVENTS_MAXLEN, STAT, withTimeout, type Logger } from '@tsp/core';
import { DatabaseError, type Pool } from 'pg';
import { signalIdOf, type AuditRecord } from './audit-records';
import { applyAuditBatch } from './apply-audit-batch';
import { signalChangesOf } from './signal-changes';

export * from './audit-records';

/** As kept in the outbox: when it was queued, so a record Postgres keeps refusing can be set aside. */
type QueuedRecord = AuditRecord & { queuedAt: number };

/** A record as the outbox keeps it (with when it was queued). */
export function encodeAuditRecord(record: AuditRecord): string {
  const queued: QueuedRecord = { ...record, queuedAt: Date.now() };
  return JSON.stringify(queued);
}

/**
 * Records wait this long to be written together; the audit trail lags the relay by about this.
 * Each write is a Postgres transaction of several statements whatever its size, so on a busy
 * relay fewer, larger batches cost far less than many small ones.
 */
const COALESCE_MS = 100;
/** Safety net for records queued by another process while this one holds no work. */
const POLL_MS = 500;
const BATCH_SIZE = 500;
const WRITE_TIMEOUT_MS = 10_000;
/**
 * The flusher's lease. Its holder keeps it from flush to flush (each flush renews it), so one
 * replica does the writing and each batch holds what every replica queued: half the Postgres
 * transactions of two replicas taking turns. Short, so a crashed holder holds up the trail only
 * briefly; renewed while a slow write runs.
 */
const LEASE_MS = 5000;
const LEASE_RENEW_MS = 1500;
/** A replica that finds the lease held leaves the outbox to its holder this long before asking again. */
const STAND_BY_MS = 1000;

/** Takes the lease if it is free, renews it if this process holds it; 0 when another one holds it. */
const TAKE_OR_RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;
/** Compare-and-act on the lease: only its holder may renew it, trim the outbox, or release it. */
const IF_OWNER_RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/**
 * Trimming what was written also announces it: the batch's changes become one entry of the
 * console's live feed (KEYS[3], capped), in the same step, so the feed costs no round trip of its
 * own and says only what Postgres now holds. ARGV[3]: the changes as JSON ('' for none).
 */
const IF_OWNER_TRIM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], ARGV[2], -1)
if ARGV[3] ~= '' then redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', ARGV[5], ARGV[3]) end
return 1`;
const IF_OWNER_RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/**
 * Records set aside because Postgres refused them are kept for an operator this many at most (the
 * newest): a flood of bad records must not fill Redis either.
 */
export const SET_ASIDE_MAX = 10_000;
/** KEYS: set-aside list, stats hash. ARGV: the raw record, the cap, the counter's field. */
const SET_ASIDE = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return redis.call('HINCRBY', KEYS[2], ARGV[3], 1)`;

/**
 * Postgres refused the data itself (SQLSTATE class 22, data exception, or 23, integrity
 * violation): retrying the same record cannot help. Anything else (unreachable, shutting down,
 * a timeout) is an outage, and the batch waits for Postgres to come back.
 */
function refusedByPostgres(error: unknown): boolean {
  return error instanceof DatabaseError && /^2[23]/.test(error.code ?? '');
}

/**
 * The audit trail's writer, shared by the approver (decisions) and the forwarder (attempts). A
 * record costs the signal one Redis write: it goes to an outbox list beside the queues, durable
 * as they are, and one flusher (of all replicas, the lease's holder) writes the list to Postgres
 * in order, in batches. So delivery never waits for Postgres, an outage only delays the trail, and a
 * decision (queued before its signal is handed on) always precedes its attempts.
 */
export class AuditTrail {
  private readonly keys;
  private poller: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<number> | null = null;
  /** Until then another replica holds the lease: leave the outbox to it. */
  private standByUntil = 0;
  private readonly owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;

  constructor(
    private readonly pool: Pool,
    private readonly redis: IORedis,
    /** KEY_PREFIX: the deployment its rows belong to. */
    private readonly prefix: string,
    private readonly logger: Logger,
    /** How many set-aside records are kept (the newest); a parameter so tests can prove the cap small. */
    private readonly setAsideMax = SET_ASIDE_MAX,
  ) {
    this.keys = redisKeys(prefix);
  }

  async record(record: AuditRecord): Promise<void> {
    await this.redis.rpush(this.keys.auditOutbox, this.encode(record));
    this.queued();
  }

  /** record(), added to the caller's pipeline so it travels with other writes; call queued() after it ran. */
  recordIn(pipeline: ChainableCommander, record: AuditRecord): ChainableCommander {
    return pipeline.rpush(this.keys.auditOutbox, this.encode(record));
  }

  /** For a script that queues a record within a larger atomic write (then call queued()). */
  get outboxKey(): string {
    return this.keys.auditOutbox;
  }

  /** A record as the outbox keeps it. */
  encode(record: AuditRecord): string {
    return encodeAuditRecord(record);
  }

  /** Records were queued: the flusher writes them after a short wait that lets more join the batch. */
  queued(): void {
    if (!this.poller || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      void this.flush();
    }, COALESCE_MS);
  }

  start(): void {
    this.poller = setInterval(() => void this.flush(), POLL_MS);
  }

  /** At shutdown: writes what it can, then hands the lease on at once rather than when it lapses. */
  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.poller = null;
    this.wakeTimer = null;
    this.standByUntil = 0;
    await this.flush();
    await this.redis.eval(IF_OWNER_RELEASE, 1, this.keys.auditOutboxLock, this.owner).catch(() => undefined);
  }

  async pending(): Promise<number> {
    return this.redis.llen(this.keys.auditOutbox);
  }

  /** Writes the outbox to Postgres, oldest first, in batches while they come full; resolves with the count written. */
  flush(): Promise<number> {
    this.flushing ??= this.flushAll().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  private async flushAll(): Promise<number> {
    let written = 0;
    try {
      if (Date.now() < this.standByUntil) return 0;
      if (!(await this.redis.eval(TAKE_OR_RENEW, 1, this.keys.auditOutboxLock, this.owner, LEASE_MS))) {
        this.standByUntil = Date.now() + STAND_BY_MS;
        return 0;
      }
      const renew = setInterval(() => {
        this.redis.eval(IF_OWNER_RENEW, 1, this.keys.auditOutboxLock, this.owner, LEASE_MS).catch(() => undefined);
      }, LEASE_RENEW_MS);
      try {
        for (;;) {
          const batch = await this.redis.lrange(this.keys.auditOutbox, 0, BATCH_SIZE - 1);
          if (!batch.length) break;
          const records = batch.map((raw) => JSON.parse(raw) as QueuedRecord);
          const applied: QueuedRecord[] = [];
          const done = await this.writeBatch(records, batch, applied);
          if (done === 0) break;
          const changes = signalChangesOf(applied);
          // Only the lease's holder removes from the head, and only what it wrote: a flusher that
          // lost the lease mid-write leaves its batch to the next holder (writing it twice is harmless,
          // and so is announcing it twice: a change says where a signal is, not what happened to it).
          const trimmed = await this.redis.eval(
            IF_OWNER_TRIM, 3, this.keys.auditOutboxLock, this.keys.auditOutbox, this.keys.signalEvents,
            this.owner, done, changes.length ? JSON.stringify(changes) : '', SIGNAL_EVENTS_MAXLEN, SIGNAL_EVENTS_FIELD,
          );
          if (!trimmed) break;
          written += done;
          // Only a full batch means a backlog to work through now. Records queued during the write
          // wait for the next flush: going round for them would write a handful per transaction
          // and undo the batching.
          if (done < BATCH_SIZE) break;
        }
      } finally {
        clearInterval(renew);
      }
    } catch (error) {
      this.logger.debug('audit outbox not written yet', { error: (error as Error).message });
      // Perhaps only this replica cannot reach Postgres: let another one try.
      this.standByUntil = Date.now() + STAND_BY_MS;
      await this.redis.eval(IF_OWNER_RELEASE, 1, this.keys.auditOutboxLock, this.owner).catch(() => undefined);
    }
    if (written > 0) this.logger.debug(`wrote ${written} audit records`);
    return written;
  }

  /**
   * Writes a batch; returns how many records from its head are done, and adds those it applied
   * (not those set aside) to `applied`. When Postgres refuses the
   * batch for its data (not an outage), records are tried one by one, and one it refuses is set
   * aside at once, so one bad record can never hold back the others.
   */
  private async writeBatch(records: QueuedRecord[], raw: string[], applied: QueuedRecord[]): Promise<number> {
    try {
      const orphans = await withTimeout(applyAuditBatch(this.pool, records, deploymentOf(this.prefix)), WRITE_TIMEOUT_MS, 'Postgres did not answer');
      await this.setAsideOrphans(orphans);
      const notWritten = new Set<AuditRecord>(orphans);
      applied.push(...records.filter((r) => !notWritten.has(r)));
      return records.length;
    } catch (error) {
      if (!refusedByPostgres(error)) throw error;
      if (records.length === 1) {
        await this.setAside(raw[0], 'audit record refused by Postgres for its data; set aside', { id: signalIdOf(records[0]), error: (error as Error).message });
        return 1;
      }
      for (let i = 0; i < records.length; i++) {
        const done = await this.writeBatch([records[i]], [raw[i]], applied).catch(() => 0);
        if (done === 0) return i;
      }
      return records.length;
    }
  }

  /** Attempts of a signal with no row: kept aside with a loud log, never silently dropped. */
  private async setAsideOrphans(orphans: AuditRecord[]): Promise<void> {
    for (const orphan of orphans) await this.setAside(JSON.stringify(orphan), 'audit record for a signal with no row; set aside', { id: signalIdOf(orphan) });
  }

  /** Keeps a record Postgres will not take in the set-aside list (for an operator), counted, logged once. */
  private async setAside(raw: string, why: string, meta: Record<string, unknown>): Promise<void> {
    this.logger.error(`${why} in ${this.keys.auditOutboxFailed}`, meta);
    await this.redis.eval(SET_ASIDE, 2, this.keys.auditOutboxFailed, this.keys.stats, raw, this.setAsideMax, STAT.auditSetAside);
  }
}
