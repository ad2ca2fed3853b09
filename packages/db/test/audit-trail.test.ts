import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import { createLogger, redisKeys, SIGNAL_EVENTS_FIELD, STAT, type SignalChange, type SignalJob } from '@tsp/core';
import { AuditTrail, createAuditPool, createPrisma, type AuditRecord, type DecisionRecord } from '../src';

describe('the audit trail', () => {
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const prefix = `test-audit-${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(prefix);
  const audit = new AuditTrail(pool, redis, prefix, createLogger('test', 'error'));
  afterAll(async () => {
    await audit.close();
    await redis.del(keys.auditOutbox, keys.auditOutboxFailed, keys.stats, keys.signalEvents);
    redis.disconnect();
    await prisma.$disconnect();
    await pool.end();
  });

  const decision = (id: string): DecisionRecord => {
    const now = new Date().toISOString();
    const signal: SignalJob = { id, kind: 'source', ticker: 'AUDT', side: 'BUY', action: 'buy', time: now, receivedAt: now, body: { ticker: 'AUDT', side: 'BUY', action: 'buy', time: now } };
    return { type: 'decision', signal, decision: { approved: false, reason: 'not_in_topn', rank: null, snapshotId: 's' }, decidedAt: now };
  };

  it('writes what Postgres takes, and sets aside at once a record it refuses for its data, counted', async () => {
    const good = decision(randomUUID());
    // Not a uuid: Postgres refuses it (SQLSTATE 22P02), as it would a corrupted record.
    const refused = { ...decision('not-a-uuid'), queuedAt: Date.now() };
    await redis.rpush(keys.auditOutbox, JSON.stringify(refused));
    await audit.record(good);

    expect(await audit.flush()).toBe(2);
    expect(await prisma.signal.findUnique({ where: { id: good.signal.id } })).toMatchObject({ status: 'rejected', reason: 'not_in_topn' });
    expect(await audit.pending()).toBe(0);
    const failed = await redis.lrange(keys.auditOutboxFailed, 0, -1);
    expect(failed.map((raw) => JSON.parse(raw).signal.id)).toEqual(['not-a-uuid']);
    expect(await redis.hget(keys.stats, STAT.auditSetAside)).toBe('1');
  });

  it('never lets a record poisoned with a NUL hold back the records behind it', async () => {
    // What a NUL in a passthrough field did before ingest refused it: Postgres refuses the JSONB (22P05).
    const poisoned = decision(randomUUID());
    poisoned.signal.body = { ...poisoned.signal.body, note: 'a\u0000b' };
    const behind = decision(randomUUID());
    await redis.rpush(keys.auditOutbox, audit.encode(poisoned), audit.encode(behind));

    expect(await audit.flush()).toBe(2);
    expect(await prisma.signal.findUnique({ where: { id: behind.signal.id } })).not.toBeNull();
    expect(await prisma.signal.findUnique({ where: { id: poisoned.signal.id } })).toBeNull();
    expect((await redis.lrange(keys.auditOutboxFailed, 0, -1)).map((raw) => JSON.parse(raw).signal.id)).toContain(poisoned.signal.id);
    expect(await redis.hget(keys.stats, STAT.auditSetAside)).toBe('2');
  });

  it('leaves the writing to the replica that holds the lease, which writes what every replica queued, until it hands it on', async () => {
    const other = new AuditTrail(pool, redis, prefix, createLogger('test', 'error'));
    await audit.flush(); // holds the lease from here on
    const first = decision(randomUUID());
    await other.record(first);
    expect(await other.flush()).toBe(0);
    expect(await audit.pending()).toBe(1);

    await audit.close(); // writes the other replica's record, and hands the lease on
    expect(await prisma.signal.findUnique({ where: { id: first.signal.id } })).not.toBeNull();
    const second = decision(randomUUID());
    await other.record(second);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the other replica's stand-by
    expect(await other.flush()).toBe(1);
    expect(await prisma.signal.findUnique({ where: { id: second.signal.id } })).not.toBeNull();
    await other.close();
  });

  it('gives the lease up when it cannot reach Postgres, so a replica that can writes the trail', async () => {
    const unreachable = createAuditPool('postgresql://postgres@127.0.0.1:1/tsp_test');
    const blind = new AuditTrail(unreachable, redis, prefix, createLogger('test', 'error'));
    const queued = decision(randomUUID());
    await blind.record(queued);
    expect(await blind.flush()).toBe(0);
    expect(await audit.flush()).toBe(1);
    expect(await prisma.signal.findUnique({ where: { id: queued.signal.id } })).not.toBeNull();
    await blind.close();
    await unreachable.end();
  });

  it('keeps the records in the outbox, in order, while Postgres is unreachable (an outage is not a refusal)', async () => {
    const unreachable = createAuditPool('postgresql://postgres@127.0.0.1:1/tsp_test');
    const blind = new AuditTrail(unreachable, redis, `${prefix}-outage`, createLogger('test', 'error'));
    const outage = redisKeys(`${prefix}-outage`);
    await blind.record(decision(randomUUID()));
    await blind.record(decision(randomUUID()));

    expect(await blind.flush()).toBe(0);
    expect(await blind.pending()).toBe(2);
    expect(await redis.llen(outage.auditOutboxFailed)).toBe(0);
    await blind.close();
    await unreachable.end();
    await redis.del(outage.auditOutbox, outage.auditOutboxLock);
  });

  it('keeps at most SET_ASIDE_MAX records set aside, the newest', async () => {
    const records = Array.from({ length: 3 }, () => ({ ...decision('bad-id'), queuedAt: Date.now() }));
    const capped = new AuditTrail(pool, redis, `${prefix}-cap`, createLogger('test', 'error'), 2);
    const capKeys = redisKeys(`${prefix}-cap`);
    records.forEach((r, i) => { r.decidedAt = `2026-01-0${i + 1}T00:00:00.000Z`; });
    await redis.rpush(capKeys.auditOutbox, ...records.map((r) => JSON.stringify(r)));
    expect(await capped.flush()).toBe(3);
    const kept = (await redis.lrange(capKeys.auditOutboxFailed, 0, -1)).map((raw) => JSON.parse(raw).decidedAt);
    expect(kept).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    await capped.close();
    await redis.del(capKeys.auditOutbox, capKeys.auditOutboxFailed, capKeys.stats, capKeys.auditOutboxLock);
  });
  it('announces each batch it wrote as one entry of the live feed, without what Postgres refused', async () => {
    const feedPrefix = `test-audit-feed-${randomUUID().slice(0, 8)}`;
    const feedKeys = redisKeys(feedPrefix);
    const announcing = new AuditTrail(pool, redis, feedPrefix, createLogger('test', 'error'));
    const rejected = decision(randomUUID());
    const refused = decision('not-a-uuid');
    const attempt: AuditRecord = {
      type: 'attempt', signalId: rejected.signal.id, attempt: 1, at: new Date().toISOString(), httpStatus: 503, latencyMs: 12,
      error: 'x'.repeat(500), status: 'retrying', reason: null, ticker: 'AUDT', side: 'BUY', price: null,
    };
    await redis.rpush(feedKeys.auditOutbox, audit.encode(rejected), audit.encode(refused), audit.encode(attempt), audit.encode({ type: 'gave_up', signalId: rejected.signal.id, error: 'x' }));

    try {
      expect(await announcing.flush()).toBe(4);
    } finally {
      await announcing.close();
    }
    const entries = await redis.xrange(feedKeys.signalEvents, '-', '+');
    await redis.del(feedKeys.auditOutbox, feedKeys.auditOutboxFailed, feedKeys.stats, feedKeys.signalEvents);
    expect(entries.length).toBe(1);
    const [, fields] = entries[0];
    expect(fields[0]).toBe(SIGNAL_EVENTS_FIELD);
    const changes = JSON.parse(fields[1]) as SignalChange[];
    expect(changes.map((c) => [c.id, c.status])).toEqual([[rejected.signal.id, 'rejected'], [rejected.signal.id, 'retrying'], [rejected.signal.id, 'dead']]);
    expect(changes[0]).toMatchObject({ ticker: 'AUDT', side: 'BUY', kind: 'source', reason: 'not_in_topn', snapshot_id: 's' });
    expect(changes[1]).toMatchObject({ attempt: 1, http_status: 503, latency_ms: 12 });
    expect(changes[1].error!.length).toBeLessThan(250);
    expect(changes[2]).toMatchObject({ reason: 'attempts_exhausted' });
  });

  it('announces nothing for a batch of position corrections alone', async () => {
    await audit.flush();
    const before = await redis.xlen(keys.signalEvents);
    await audit.record({ type: 'position', ticker: 'AUDTPOS', open: null, at: new Date().toISOString() });
    expect(await audit.flush()).toBe(1);
    expect(await redis.xlen(keys.signalEvents)).toBe(before);
  });
});
