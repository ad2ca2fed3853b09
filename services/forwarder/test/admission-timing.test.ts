import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE, redisKeys } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startForwarder } from '../src/service';
import { deletePrefixKeys, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { rowWithStatus, seedApproved, uniqueTicker } from './seed-approved';

const JOB_LOCK_MS = 1000;
const CAP_PER_MIN = 600;

/**
 * The destination counts arrivals: nothing but local work may stand between a start's admission
 * and its request. A start admitted only after a long wait (longer than half a job lock: Redis
 * stalled, say) may belong to a run whose lock is gone, so it is not used: the job is handed back
 * and comes again.
 */
describe('a start admitted long after the delivery asked for it', () => {
  const prefix = uniquePrefix('admission');
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  let destination: LocalServer;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;

  beforeAll(async () => {
    destination = await startLocalServer(() => ({ status: 200, body: '{"ok":true}' }));
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, FORWARDER_PORT: '0', DEST_WEBHOOK_URL: `${destination.url}/hook`,
      DEST_WEBHOOK_MAX_REQ_PER_MIN: String(CAP_PER_MIN), JOB_LOCK_MS: String(JOB_LOCK_MS), SIGNAL_TTL_SEC: '120',
    });
    forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
  });

  afterAll(async () => {
    await forwarder.stop();
    await forward.obliterate({ force: true });
    await forward.close();
    await deletePrefixKeys(prefix);
    await prisma.$disconnect();
    redis.disconnect();
    await destination.close();
  });

  it('is not used: the job is handed back, and its next run sends it once', async () => {
    // The minute's window is full, and its starts leave it 2 s from now (on Redis's clock).
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const windowMs = 61_001;
    const startsKey = redisKeys(prefix).destinationStarts;
    await redis.zadd(startsKey, ...Array.from({ length: CAP_PER_MIN }, (_, i) => [now - windowMs + 2000, `earlier-${i}`]).flat());

    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('ADMIT') });
    await rowWithStatus(prisma, signal.id, 'forwarded');
    expect(destination.received.filter((r) => r.headers['idempotency-key'] === signal.id)).toHaveLength(1);
    // Two starts were admitted for it: the late one, spent unused, and the one its next run used.
    const starts = await redis.zrangebyscore(startsKey, String(now), '+inf');
    expect(starts).toHaveLength(2);
    const job = await waitFor(async () => forward.getJob(signal.id), 5000, 'the job');
    expect(job.attemptsStarted).toBeGreaterThanOrEqual(2);
  });

  it('is used when it comes at once', async () => {
    await redis.del(redisKeys(prefix).destinationStarts);
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('ATONCE') });
    await rowWithStatus(prisma, signal.id, 'forwarded');
    expect(destination.received.filter((r) => r.headers['idempotency-key'] === signal.id)).toHaveLength(1);
    expect(await redis.zcard(redisKeys(prefix).destinationStarts)).toBe(1);
  });
});
