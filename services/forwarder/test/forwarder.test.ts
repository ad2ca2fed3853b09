import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { createLogger, DECISION_FIELD, loadConfig, QUEUE, redisKeys, TickerLanes } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startForwarder } from '../src/service';
import { jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { rowWithStatus, seedApproved, uniqueTicker } from './seed-approved';

const ADMIN = 'forwarder-admin';

describe('the forwarder', () => {
  const prefix = uniquePrefix('forwarder');
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  /** Answers per Idempotency-Key, in order; a key not listed gets 200. */
  const script = new Map<string, number[]>();
  let destination: LocalServer;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  const tickers: string[] = [];

  beforeAll(async () => {
    destination = await startLocalServer((req) => {
      const planned = script.get(String(req.headers['idempotency-key']));
      const status = planned?.shift() ?? 200;
      return { status, body: status === 200 ? '{"ok":true}' : `{"error":"status ${status}"}` };
    });
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, FORWARDER_PORT: '0',
      DEST_WEBHOOK_URL: `${destination.url}/hook`, DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000',
      FORWARD_BACKOFF_BASE_MS: '50', FORWARD_MAX_ATTEMPTS: '3', SIGNAL_TTL_SEC: '30', ADMIN_TOKEN: ADMIN, FORWARDING_WORKERS: '2',
    });
    forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
  });

  afterAll(async () => {
    await forwarder.stop();
    await prisma.position.deleteMany({ where: { ticker: { in: tickers } } });
    await forward.obliterate({ force: true });
    await forward.close();
    await redis.del(redisKeys(prefix).auditOutbox);
    await prisma.$disconnect();
    redis.disconnect();
    await destination.close();
  });

  const ticker = (label: string) => {
    const t = uniqueTicker(label);
    tickers.push(t);
    return t;
  };
  const requestsFor = (id: string) => destination.received.filter((r) => r.headers['idempotency-key'] === id);
  const rowOnceSettled = (id: string, status: string) => rowWithStatus(prisma, id, status);

  it('delivers an approved signal once, records the attempt and opens the position', async () => {
    const t = ticker('BUY');
    const signal = await seedApproved(prisma, forward, { ticker: t, price: 12.5 });
    const row = await rowOnceSettled(signal.id, 'forwarded');
    expect(requestsFor(signal.id)).toHaveLength(1);
    expect(JSON.parse(requestsFor(signal.id)[0].body)).toEqual(signal.body);
    expect(row.deliveries).toEqual([expect.objectContaining({ attempt: 1, httpStatus: 200, error: null })]);
    expect(await prisma.position.findFirst({ where: { ticker: t } })).toMatchObject({ ticker: t, lastPrice: 12.5, signalId: signal.id });
  });

  it('records the delivery as the signal\'s end, so no re-run hands it on or sends it again, in a record that expires', async () => {
    const keys = redisKeys(prefix);
    const decided = await seedApproved(prisma, forward, { ticker: ticker('MARK') }, async (id) => {
      await redis.multi().hset(keys.decision(id), 'decision', '{"approved":true}').expire(keys.decision(id), 600).exec();
    });
    const undecided = await seedApproved(prisma, forward, { ticker: ticker('NOMARK') });
    await rowOnceSettled(decided.id, 'forwarded');
    await rowOnceSettled(undecided.id, 'forwarded');
    expect(await redis.hget(keys.decision(decided.id), DECISION_FIELD.ended)).toBe('delivered');
    expect(await redis.hget(keys.decision(decided.id), 'decision')).toBe('{"approved":true}');
    expect(await redis.ttl(keys.decision(decided.id))).toBeGreaterThan(0);
    // A signal whose decision record expired already gets one that expires too: nothing in Redis lives forever.
    expect(await redis.hget(keys.decision(undecided.id), DECISION_FIELD.ended)).toBe('delivered');
    expect(await redis.ttl(keys.decision(undecided.id))).toBeGreaterThan(0);
  });

  /**
   * A ticker's lane [first, second] where first is delivered here, so this forwarder learns that
   * second heads the lane; then a head put in front by hand, with a live job. Nothing can join a
   * lane ahead of its head, so the one put there shows whether the forwarder asks the lane: asked,
   * the lane makes second (or any later entry) wait, parked, behind it.
   */
  async function laneWithLearntHead(label: string) {
    const t = ticker(label);
    const lanes = new TickerLanes(redis, prefix);
    lanes.prepare(redis);
    const jobKey = (id: string) => `${prefix}:${QUEUE.forward}:${id}`;
    const register = (id: string) => lanes.registerIn(redis.multi(), t, id, jobKey(id)).exec();
    const [first, second] = [randomUUID(), randomUUID()];
    await register(first);
    await register(second);
    await seedApproved(prisma, forward, { id: first, ticker: t });
    await rowOnceSettled(first, 'forwarded');
    const byHand = `by-hand-${randomUUID()}`;
    await redis.multi().zadd(redisKeys(prefix).lane(t), 0, byHand).hset(jobKey(byHand), 'name', 'forward').exec();
    const parked = (id: string, what: string) => waitFor(async () => (await forward.getJobState(id)) === 'delayed', 10_000, what);
    const cleanUp = (...ids: string[]) => Promise.all([...ids.map((id) => forward.remove(id).catch(() => undefined)), redis.del(redisKeys(prefix).lane(t), jobKey(byHand))]);
    return { t, second, register, parked, cleanUp };
  }

  it('sends an entry it learnt heads its lane (from the end of the one before) without asking the lane again', async () => {
    const { t, second, register, parked, cleanUp } = await laneWithLearntHead('HEADS');
    const third = randomUUID();
    try {
      await seedApproved(prisma, forward, { id: second, ticker: t });
      await rowOnceSettled(second, 'forwarded');
      // An entry not learnt as head asks, and waits behind the head put by hand.
      await register(third);
      await seedApproved(prisma, forward, { id: third, ticker: t });
      await parked(third, 'the third entry parked');
      expect(requestsFor(third)).toHaveLength(0);
    } finally {
      await cleanUp(third);
    }
  });

  it('asks the lane for a replay even when it learnt its id heads it: the replay holds a new place, at the end', async () => {
    const { t, second, parked, cleanUp } = await laneWithLearntHead('REPLAYHEAD');
    try {
      await seedApproved(prisma, forward, { id: second, ticker: t, replayedAt: new Date() });
      await parked(second, 'the replay parked');
      expect(requestsFor(second)).toHaveLength(0);
    } finally {
      await cleanUp(second);
    }
  });

  it('closes the position when a SELL is delivered', async () => {
    const t = ticker('SELL');
    await rowOnceSettled((await seedApproved(prisma, forward, { ticker: t })).id, 'forwarded');
    expect(await prisma.position.findFirst({ where: { ticker: t } })).not.toBeNull();
    await rowOnceSettled((await seedApproved(prisma, forward, { ticker: t, side: 'SELL' })).id, 'forwarded');
    expect(await prisma.position.findFirst({ where: { ticker: t } })).toBeNull();
  });

  it('retries 500, 500 then delivers on attempt 3 with the same Idempotency-Key', async () => {
    const signal = await seedApproved(prisma, forward, { ticker: ticker('R') });
    script.set(signal.id, [500, 500]);
    // The script is read when the request arrives; the job may already be waiting, which is fine.
    const row = await rowOnceSettled(signal.id, 'forwarded');
    const requests = requestsFor(signal.id);
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([signal.id]));
    expect(row.deliveries.map((d) => [d.attempt, d.httpStatus])).toEqual([[1, 500], [2, 500], [3, 200]]);
    expect(row.deliveries[0].error).toMatch(/500/);
  });

  it('marks a 400 answer dead with permanent_error after one attempt', async () => {
    const signal = await seedApproved(prisma, forward, { ticker: ticker('P') });
    script.set(signal.id, [400]);
    const row = await rowOnceSettled(signal.id, 'dead');
    expect(row.reason).toBe('permanent_error');
    expect(row.deliveries.map((d) => d.httpStatus)).toEqual([400]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestsFor(signal.id)).toHaveLength(1);
    expect(await (await forward.getJob(signal.id))?.getState()).toBe('failed');
  });

  it('marks a delivery dead with attempts_exhausted after FORWARD_MAX_ATTEMPTS failures', async () => {
    // Queued with more attempts than this forwarder's FORWARD_MAX_ATTEMPTS (3), as by an approver
    // configured differently: the forwarder's setting decides.
    const signal = await seedApproved(prisma, forward, { ticker: ticker('X'), maxAttempts: 8 });
    script.set(signal.id, [503, 503, 503, 503]);
    const row = await rowOnceSettled(signal.id, 'dead');
    expect(row.reason).toBe('attempts_exhausted');
    expect(row.deliveries.map((d) => d.httpStatus)).toEqual([503, 503, 503]);
    await waitFor(async () => (await (await forward.getJob(signal.id))?.getState()) === 'failed', 5000, 'the job to fail');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestsFor(signal.id)).toHaveLength(3);
  });

  it('never delivers a signal older than SIGNAL_TTL_SEC: it is dead with reason expired', async () => {
    const signal = await seedApproved(prisma, forward, { ticker: ticker('E'), receivedAt: new Date(Date.now() - 60_000) });
    const row = await rowOnceSettled(signal.id, 'dead');
    expect(row).toMatchObject({ reason: 'expired', deliveries: [] });
    expect(requestsFor(signal.id)).toHaveLength(0);
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${forwarder.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('lists a dead delivery and replays it with the same Idempotency-Key, attempts counting on', async () => {
    const signal = await seedApproved(prisma, forward, { ticker: ticker('D') });
    script.set(signal.id, [400]);
    await rowOnceSettled(signal.id, 'dead');
    const dead = await jsonOf<{ items: { id: string }[] }>(admin('GET', '/admin/dead'));
    expect(dead.items.map((item) => item.id)).toContain(signal.id);

    const replay = await admin('POST', `/admin/dead/${signal.id}/replay`);
    expect(replay.status).toBe(202);
    const row = await rowOnceSettled(signal.id, 'forwarded');
    expect(row.reason).toBeNull();
    expect(row.deliveries.map((d) => [d.attempt, d.httpStatus])).toEqual([[1, 400], [2, 200]]);
    expect(requestsFor(signal.id).map((r) => r.headers['idempotency-key'])).toEqual([signal.id, signal.id]);
    expect((await admin('POST', `/admin/dead/${signal.id}/replay`)).status).toBe(409);
  });

  it('replays every dead delivery at once', async () => {
    const signals = [await seedApproved(prisma, forward, { ticker: ticker('A') }), await seedApproved(prisma, forward, { ticker: ticker('B') })];
    for (const s of signals) script.set(s.id, [422]);
    for (const s of signals) await rowOnceSettled(s.id, 'dead');
    const replay = await admin('POST', '/admin/dead/replay-all');
    expect(replay.status).toBe(202);
    expect((await jsonOf<{ ids: string[] }>(replay)).ids).toEqual(expect.arrayContaining(signals.map((s) => s.id)));
    for (const s of signals) await rowOnceSettled(s.id, 'forwarded');
  });

  it('answers 404 for replaying an unknown signal and 401 without the admin token', async () => {
    expect((await admin('POST', '/admin/dead/00000000-0000-4000-8000-000000000000/replay')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${forwarder.port}/admin/dead`)).status).toBe(401);
  });

  it('reads and changes the global rate cap, refusing bad values', async () => {
    expect(await (await admin('GET', '/admin/rate-limit')).json()).toMatchObject({ enabled: true, max_per_minute: 6000 });
    const bad = await admin('POST', '/admin/rate-limit', { max_per_minute: 0 });
    expect(bad.status).toBe(400);
    expect((await jsonOf<{ error: string }>(bad)).error).toBe('invalid_rate_limit');
    const set = await admin('POST', '/admin/rate-limit', { max_per_minute: 3000 });
    expect(await set.json()).toMatchObject({ max_per_minute: 3000 });
    expect(await redis.get(redisKeys(prefix).rateCap)).toBe('3000');
    await admin('POST', '/admin/rate-limit', { max_per_minute: 6000 });
  });

  it('switches rate limiting off and on at runtime, refusing anything but a boolean', async () => {
    for (const body of [{}, { enabled: 'false' }, { enabled: 0 }, { enabled: null }, { enabled: false, extra: 1 }, { enabled: 'fa\u0000lse' }]) {
      const bad = await admin('POST', '/admin/rate-limit', body);
      expect([body, bad.status]).toEqual([body, 400]);
      expect((await jsonOf<{ error: string }>(bad)).error).toBe('invalid_rate_limit');
    }
    const off = await admin('POST', '/admin/rate-limit', { enabled: false });
    expect(await off.json()).toMatchObject({ enabled: false, switched_at_runtime: true, max_per_minute: 6000 });
    expect(await redis.get(redisKeys(prefix).rateLimiting)).toBe('0');
    const on = await admin('POST', '/admin/rate-limit', { enabled: true, max_per_minute: 6000 });
    expect(await on.json()).toMatchObject({ enabled: true, max_per_minute: 6000 });
  });

  it('pauses delivery for every replica and resumes it', async () => {
    expect((await admin('POST', '/admin/pause')).status).toBe(200);
    const signal = await seedApproved(prisma, forward, { ticker: ticker('Z') });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(requestsFor(signal.id)).toHaveLength(0);
    expect((await jsonOf<{ paused: boolean }>(fetch(`http://127.0.0.1:${forwarder.port}/status`))).paused).toBe(true);
    expect((await admin('POST', '/admin/resume')).status).toBe(200);
    await rowOnceSettled(signal.id, 'forwarded');
  });

  it('delivers a manual exit ahead of signals already queued', async () => {
    await admin('POST', '/admin/pause');
    const queued = [];
    for (let i = 0; i < 4; i++) queued.push(await seedApproved(prisma, forward, { ticker: ticker('Q') }));
    const exit = await seedApproved(prisma, forward, { ticker: ticker('M'), side: 'SELL', manual: true });
    const ids = new Set([...queued, exit].map((s) => s.id));
    const before = destination.received.length;
    await admin('POST', '/admin/resume');
    await waitFor(() => destination.received.slice(before).filter((r) => ids.has(String(r.headers['idempotency-key']))).length === 5, 10_000, 'all five');
    const order = destination.received.slice(before).map((r) => r.headers['idempotency-key']).filter((id) => ids.has(String(id)));
    expect(order[0]).toBe(exit.id);
  });

  it('is not ready without DEST_WEBHOOK_URL, says why, and leaves approved signals queued', async () => {
    const other = uniquePrefix('forwarder-nodest');
    const config = loadConfig({ ...process.env, KEY_PREFIX: other, FORWARDER_PORT: '0', DEST_WEBHOOK_URL: '' });
    const idle = await startForwarder(config, createLogger('forwarder', 'error'));
    const queue = new Queue(QUEUE.forward, { connection: redis, prefix: other });
    try {
      const ready = await fetch(`http://127.0.0.1:${idle.port}/ready`);
      expect(ready.status).toBe(503);
      expect((await jsonOf<{ failing: Record<string, string> }>(ready)).failing.config).toMatch(/DEST_WEBHOOK_URL/);
      const signal = await seedApproved(prisma, queue, { ticker: ticker('W') });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(['waiting', 'prioritized']).toContain(await (await queue.getJob(signal.id))?.getState());
    } finally {
      await idle.stop();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
