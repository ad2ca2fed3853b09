import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { addJobInLane, createLogger, DECISION_FIELD, loadConfig, PositionBook, QUEUE, redisKeys, signalJobOptions, SystemStats, TickerLanes, type SignalJob, type TopnSet } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startApprover } from '../src/service';
import { jsonOf, uniquePrefix, waitFor } from '../../../test/support/helpers';

describe('the approver', () => {
  const prefix = uniquePrefix('approver');
  const config = loadConfig({ ...process.env, KEY_PREFIX: prefix, APPROVER_PORT: '0', TOPN_MAX_AGE_SEC: '60' });
  const prisma = createPrisma(config.databaseUrl);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const signals = new Queue(QUEUE.signals, { connection: redis, prefix });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  let approver: Awaited<ReturnType<typeof startApprover>>;
  const tickersUsed = new Set<string>();

  beforeAll(async () => {
    approver = await startApprover(config, createLogger('approver', 'error'));
  });

  afterAll(async () => {
    await approver.stop();
    await prisma.position.deleteMany({ where: { ticker: { in: [...tickersUsed] } } });
    await signals.obliterate({ force: true });
    await forward.obliterate({ force: true });
    await Promise.all([signals.close(), forward.close()]);
    await prisma.$disconnect();
    redis.disconnect();
  });

  /** The part of the approver's GET /status these tests read. */
  const approverStatus = () => jsonOf<{ topn: { snapshot_id: string } | null }>(fetch(`http://127.0.0.1:${approver.port}/status`));

  /** Publishes a set as the screener does and waits until the approver holds it. */
  async function publishTopn(tickers: string[], ageSec = 0): Promise<TopnSet> {
    const set: TopnSet = { tickers, top_n: tickers.length, fetched_at: new Date(Date.now() - ageSec * 1000).toISOString(), snapshot_id: randomUUID(), source: 'test' };
    await redis.set(redisKeys(prefix).topn, JSON.stringify(set));
    await redis.publish(redisKeys(prefix).topnUpdated, set.snapshot_id);
    await waitFor(async () => {
      const status = await approverStatus();
      return status.topn?.snapshot_id === set.snapshot_id;
    }, 5000, 'the approver to load the set');
    return set;
  }

  function signal(ticker: string, side: 'BUY' | 'SELL'): SignalJob {
    const now = new Date().toISOString();
    tickersUsed.add(ticker);
    return { id: randomUUID(), kind: 'source', ticker, side, action: side.toLowerCase(), time: now, receivedAt: now, body: { ticker, side, action: side.toLowerCase(), time: now } };
  }

  async function decided(job: SignalJob) {
    await signals.add('signal', job, signalJobOptions(job.id));
    return waitFor(() => prisma.signal.findUnique({ where: { id: job.id } }), 10_000, `a decision on ${job.ticker}`);
  }

  it('approves a BUY ranked inside the Top-N, records rank and snapshot, and hands it to the forwarder', async () => {
    const set = await publishTopn([`A${prefix.slice(-4)}`.toUpperCase(), 'NVDA', 'AMD']);
    const job = signal('NVDA', 'BUY');
    const row = await decided(job);
    expect(row).toMatchObject({ status: 'approved', basis: 'topn', rank: 2, snapshotId: set.snapshot_id, reason: null });
    const forwardJob = await forward.getJob(job.id);
    expect(forwardJob?.data).toMatchObject({ signal: { id: job.id, ticker: 'NVDA' }, basis: 'topn', rank: 2, snapshotId: set.snapshot_id });
  });

  it("marks the hand-off of a signal heading its ticker's lane (laneHead: the forwarder need not ask), not of one behind an earlier signal still on its way", async () => {
    await publishTopn(['MSFT', 'NVDA']);
    const lanes = new TickerLanes(redis, prefix);
    const first = signal('MSFT', 'BUY');
    const second = signal('MSFT', 'BUY');
    // Accepted as ingest accepts them: each in its ticker's lane with its job.
    for (const job of [first, second]) {
      await addJobInLane(lanes, prefix, { queue: signals, name: 'signal', id: job.id, ticker: job.ticker, data: job, opts: signalJobOptions(job.id) });
    }
    const handedOff = await waitFor(async () => {
      const jobs = await Promise.all([forward.getJob(first.id), forward.getJob(second.id)]);
      return jobs.every(Boolean) ? jobs : null;
    }, 10_000, 'both hand-offs');
    // No forwarder runs here: the first stays on its way, so the second is behind it.
    expect(handedOff[0]!.data.laneHead).toBe(true);
    expect(handedOff[1]!.data.laneHead).toBeUndefined();
    expect(await lanes.pending('MSFT')).toEqual([first.id, second.id]);
  });

  it('rejects a BUY outside the Top-N with not_in_topn and never hands it on', async () => {
    const set = await publishTopn(['NVDA', 'AMD']);
    const job = signal('GME', 'BUY');
    expect(await decided(job)).toMatchObject({ status: 'rejected', reason: 'not_in_topn', snapshotId: set.snapshot_id });
    expect(await forward.getJob(job.id)).toBeUndefined();
  });

  it('rejects with topn_stale when the set is older than TOPN_MAX_AGE_SEC, even for a listed ticker', async () => {
    await publishTopn(['NVDA', 'AMD'], 61);
    const job = signal('NVDA', 'BUY');
    expect(await decided(job)).toMatchObject({ status: 'rejected', reason: 'topn_stale', rank: 1 });
    expect(await forward.getJob(job.id)).toBeUndefined();
  });

  it('rejects with topn_unavailable when no set was ever published', async () => {
    await redis.del(redisKeys(prefix).topn);
    await redis.publish(redisKeys(prefix).topnUpdated, 'gone');
    await waitFor(async () => (await approverStatus()).topn === null, 5000, 'the set to vanish');
    const job = signal('NVDA', 'BUY');
    expect(await decided(job)).toMatchObject({ status: 'rejected', reason: 'topn_unavailable', snapshotId: null });
  });

  it('passes a SELL only while tsp holds an open position in the ticker (SELL_POLICY=open_position)', async () => {
    await publishTopn(['NVDA']);
    const ticker = `Z${randomUUID().slice(0, 4)}`.toUpperCase();
    const closed = signal(ticker, 'SELL');
    expect(await decided(closed)).toMatchObject({ status: 'rejected', reason: 'no_open_position' });

    // As the forwarder does the moment a BUY is delivered (Postgres learns it later, through the audit trail).
    await new PositionBook(redis, prefix).open({ ticker, openedAt: new Date().toISOString(), lastPrice: null, signalId: randomUUID() });
    const open = signal(ticker, 'SELL');
    expect(await decided(open)).toMatchObject({ status: 'approved', basis: 'open_position' });
    expect(await forward.getJob(open.id)).toBeDefined();
  });

  /** Runs the same signal job again, as after a crash between its decision and its completion. */
  async function rerun(job: SignalJob) {
    await signals.remove(job.id);
    await signals.add('signal', job, signalJobOptions(job.id));
    await waitFor(async () => (await signals.getJob(job.id))?.finishedOn, 10_000, 'the re-run');
  }

  it('loads the open positions from Postgres when Redis has lost them', async () => {
    await publishTopn(['NVDA']);
    const ticker = `Y${randomUUID().slice(0, 4)}`.toUpperCase();
    await prisma.position.create({ data: { ticker, openedAt: new Date(), signalId: randomUUID() } });
    await redis.del(redisKeys(prefix).positions); // as after a Redis restart without persistence
    expect(await decided(signal(ticker, 'SELL'))).toMatchObject({ status: 'approved', basis: 'open_position' });
  });

  it('decides a signal once: a re-run after a crash keeps the first decision though the Top-N moved', async () => {
    await publishTopn(['NVDA', 'AMD']);
    const job = signal('AMD', 'BUY');
    expect(await decided(job)).toMatchObject({ status: 'approved', rank: 2 });
    await waitFor(async () => (await forward.getJob(job.id))?.id, 5000, 'the hand-off');
    // As the forwarder leaves it after delivering: the signal's end recorded, and BullMQ may
    // have cleaned the job away.
    await redis.hset(redisKeys(prefix).decision(job.id), DECISION_FIELD.ended, 'delivered');
    await forward.remove(job.id);

    await publishTopn(['NVDA']);
    const counted = await new SystemStats(redis, prefix).read();
    await rerun(job);
    expect(await prisma.signal.findUnique({ where: { id: job.id } })).toMatchObject({ status: 'approved', rank: 2 });
    // Counted once: the re-run's decision is neither counted nor audited again.
    expect(await new SystemStats(redis, prefix).read()).toMatchObject({ approved: counted.approved, rejected: counted.rejected });
    // Handed off once already: adding it again could deliver the trade twice.
    expect(await forward.getJob(job.id)).toBeUndefined();
  });

  it('hands an approved signal to the forwarder on the re-run when a crash came between decision and hand-off', async () => {
    await publishTopn(['NVDA']);
    const job = signal('NVDA', 'BUY');
    await decided(job);
    await waitFor(async () => (await forward.getJob(job.id))?.id, 5000, 'the hand-off');
    await forward.remove(job.id); // the crash: decided, but the forward job never added

    await rerun(job);
    expect(await forward.getJob(job.id)).toBeDefined();
  });

  it('keeps deciding while Postgres is unreachable, and writes the audit rows once it is back', async () => {
    const offline = uniquePrefix('approver-offline');
    // Port 1: nothing listens, as when Postgres is down.
    const down = loadConfig({ ...process.env, KEY_PREFIX: offline, APPROVER_PORT: '0', TOPN_MAX_AGE_SEC: '60', DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/tsp_test' });
    const set: TopnSet = { tickers: ['NVDA'], top_n: 1, fetched_at: new Date().toISOString(), snapshot_id: randomUUID(), source: 'test' };
    await redis.set(redisKeys(offline).topn, JSON.stringify(set));
    const offlineSignals = new Queue(QUEUE.signals, { connection: redis, prefix: offline });
    const offlineForward = new Queue(QUEUE.forward, { connection: redis, prefix: offline });
    const blind = await startApprover(down, createLogger('approver', 'error'));
    try {
      const job = signal('NVDA', 'BUY');
      await offlineSignals.add('signal', job, signalJobOptions(job.id));
      await waitFor(async () => (await offlineForward.getJob(job.id))?.id, 10_000, 'the hand-off while Postgres is down');
      expect(await redis.llen(redisKeys(offline).auditOutbox)).toBe(1);
      expect(await prisma.signal.findUnique({ where: { id: job.id } })).toBeNull();

      // Postgres is back (an approver that reaches it flushes the shared outbox).
      const up = await startApprover({ ...down, databaseUrl: config.databaseUrl }, createLogger('approver', 'error'));
      try {
        const row = await waitFor(() => prisma.signal.findUnique({ where: { id: job.id } }), 10_000, 'the audit row');
        expect(row).toMatchObject({ status: 'approved', basis: 'topn', rank: 1, snapshotId: set.snapshot_id });
        // The outbox is trimmed just after the rows commit, in a step of its own.
        await waitFor(async () => (await redis.llen(redisKeys(offline).auditOutbox)) === 0, 5000, 'the outbox emptied');
      } finally {
        await up.stop();
      }
    } finally {
      await blind.stop();
      for (const queue of [offlineSignals, offlineForward]) {
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await redis.del(redisKeys(offline).topn);
    }
  });

  it('records a job that fails its schema as rejected (malformed) with what could be read, never drops it', async () => {
    const id = randomUUID();
    // An overflowing price (Infinity is stored as null by BullMQ's JSON) used to be dropped without a trace.
    await signals.add('signal', { id, kind: 'source', ticker: 'MALF', side: 'BUY', price: null, time: 'x', receivedAt: new Date().toISOString() }, signalJobOptions(id));
    const row = await waitFor(() => prisma.signal.findUnique({ where: { id } }), 10_000, 'the malformed row');
    expect(row).toMatchObject({ status: 'rejected', reason: 'malformed', ticker: 'MALF', side: 'BUY', kind: 'source' });
    expect(await forward.getJob(id)).toBeUndefined();
    expect(await (await signals.getJob(id))?.getState()).toBe('completed');
  });

  it('rejects an entry older than its allowed lag as stale, and lets an exit of any age through', async () => {
    const set = await publishTopn(['LAGG']);
    const late = { ...signal('LAGG', 'BUY'), lagSec: 600, maxLagSec: 60 };
    expect(await decided(late)).toMatchObject({ status: 'rejected', reason: 'stale', snapshotId: set.snapshot_id });
    const unjudged = { ...signal('LAGG', 'BUY'), lagSec: 600, maxLagSec: 0 };
    expect(await decided(unjudged)).toMatchObject({ status: 'approved' });
  });

  it('keeps a decision in Redis no longer than its re-runs can need it', async () => {
    await publishTopn(['TTLS']);
    const job = signal('TTLS', 'BUY');
    await decided(job);
    const ttl = await redis.ttl(redisKeys(prefix).decision(job.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
  });
});
