import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, DECISION_FIELD, forwardJobOptions, loadConfig, QUEUE, redisKeys } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startForwarder } from '../src/service';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { rowWithStatus, seedApproved, uniqueTicker } from './seed-approved';

describe('a forwarder that cannot be talked into a wrong outcome', () => {
  const prefix = uniquePrefix('fwd-hard');
  const keys = redisKeys(prefix);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  /** Per Idempotency-Key: the answers to give, in order (status, Retry-After); then 200. */
  const script = new Map<string, { status: number; retryAfter?: string }[]>();
  let destination: LocalServer;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;

  beforeAll(async () => {
    destination = await startLocalServer((req) => {
      const next = script.get(String(req.headers['idempotency-key']))?.shift() ?? { status: 200 };
      const headers: Record<string, string> = next.retryAfter ? { 'retry-after': next.retryAfter } : {};
      return { status: next.status, body: '{}', headers };
    });
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, FORWARDER_PORT: '0', DEST_WEBHOOK_URL: `${destination.url}/hook`, DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000',
      FORWARD_BACKOFF_BASE_MS: '50', FORWARD_MAX_ATTEMPTS: '5', SIGNAL_TTL_SEC: '30',
    });
    forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
  });

  afterAll(async () => {
    await forwarder.stop();
    await forward.obliterate({ force: true });
    await forward.close();
    await prisma.$disconnect();
    redis.disconnect();
    await destination.close();
  });

  const requestsFor = (id: string) => destination.received.filter((r) => r.headers['idempotency-key'] === id);
  const rowOnceSettled = (id: string, status: string) => rowWithStatus(prisma, id, status);

  it('ends an entry now when the destination asks it to wait past its TTL, with the 429 attempt recorded', async () => {
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('RA') }, async (id) => {
      script.set(id, [{ status: 429, retryAfter: '999999999' }]);
    });
    const row = await rowOnceSettled(signal.id, 'dead');
    expect(row.reason).toBe('expired');
    expect(row.deliveries.map((d) => [d.attempt, d.httpStatus])).toEqual([[1, 429]]);
    expect(requestsFor(signal.id)).toHaveLength(1);
    expect(await (await forward.getJob(signal.id))?.getState()).toBe('failed');
  });

  it('records a delivery whose first write failed, and never marks it dead or sends it again, even past its TTL', async () => {
    // Received 29.5 s ago: its TTL (30 s) passes while the write keeps failing.
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('WR'), receivedAt: new Date(Date.now() - 29_500) }, async () => {
      // An audit outbox of the wrong type makes the script that records the delivery fail, as a Redis blip would.
      await redis.set(keys.auditOutbox, 'not a list', 'EX', 60);
    });
    await waitFor(() => requestsFor(signal.id).length === 1, 10_000, 'the delivery');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await redis.del(keys.auditOutbox);
    const row = await rowOnceSettled(signal.id, 'forwarded');
    expect(row.deliveries.map((d) => d.httpStatus)).toEqual([200]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestsFor(signal.id)).toHaveLength(1);
    expect(await redis.hget(keys.decision(signal.id), DECISION_FIELD.ended)).toBe('delivered');
  });

  it('does not send again a delivery already recorded as ended, when its job runs again', async () => {
    const delivered = await seedApproved(prisma, forward, { ticker: uniqueTicker('RD') });
    await rowOnceSettled(delivered.id, 'forwarded');
    // As after a lost reply: BullMQ still holds the job and runs it again.
    const job = await forward.getJob(delivered.id);
    await job!.retry('completed');
    await waitFor(async () => (await forward.getJob(delivered.id))?.finishedOn, 5000, 'the re-run');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestsFor(delivered.id)).toHaveLength(1);
  });

  it('records a delivery job that fails its schema as rejected (malformed), and sends nothing', async () => {
    const id = randomUUID();
    const data = { signal: { id, ticker: 'MALF', side: 'BUY', receivedAt: new Date().toISOString() }, basis: 'topn' };
    await forward.add('forward', data, forwardJobOptions(id, 3));
    const row = await waitFor(() => prisma.signal.findUnique({ where: { id } }), 10_000, 'the malformed row');
    expect(row).toMatchObject({ status: 'rejected', reason: 'malformed', ticker: 'MALF', side: 'BUY' });
    expect(requestsFor(id)).toHaveLength(0);
    expect(await redis.hget(keys.statsLabelled, 'rejected|malformed')).toBe('1');
  });

  it('ends a delivery whose job runs out of runs before its attempts (an older approver\'s job, our own failures) dead, for replay', async () => {
    // Queued with a single run: the 500 uses it, with FORWARD_MAX_ATTEMPTS (5) not reached.
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('GU'), runs: 1 }, async (id) => {
      script.set(id, [{ status: 500 }]);
    });
    const row = await rowOnceSettled(signal.id, 'dead');
    expect(row.reason).toBe('attempts_exhausted');
    expect(row.deliveries.map((d) => d.httpStatus)).toEqual([500]);
  });

  it('keeps its Redis records bounded: a delivery\'s record expires', async () => {
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('TT') });
    await rowOnceSettled(signal.id, 'forwarded');
    const ttl = await redis.ttl(keys.decision(signal.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
  });
});
