import IORedis from 'ioredis';
import type { Job } from 'bullmq';
import { QUEUE, redisKeys } from '../src/names';
import { TickerLanes } from '../src/ticker-lane';
import { RunsHere, turnOrPark } from '../src/lane-parking';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

describe('a signal behind an earlier one of its ticker', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  const prefix = uniquePrefix('lane-park');
  const keys = redisKeys(prefix);
  const lanes = new TickerLanes(redis, prefix);
  lanes.prepare(redis);
  afterAll(async () => {
    await deletePrefixKeys(prefix);
    redis.disconnect();
  });

  /** Accepts the signals in this order, each with a live job in the forward queue, as ingest and the approver leave them. */
  async function accept(ticker: string, ...ids: string[]) {
    for (const id of ids) {
      const jobKey = keys.job(QUEUE.forward, id);
      const multi = redis.multi();
      lanes.registerIn(multi, ticker, id, jobKey);
      multi.hset(jobKey, 'name', 'deliver');
      await multi.exec();
    }
  }

  it('waits in its process for a head whose run is here, then goes without parking', async () => {
    await accept('AAPL', 'a1', 'a2');
    const runs = new RunsHere();
    let headEnded = false;
    const deliverHead = runs.track(async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await lanes.end('AAPL', 'a1');
      headEnded = true;
    });
    const head = deliverHead({ id: 'a1' } as Job);
    // Longer than every short look together: only waiting for the head's run can make it go.
    const turn = await turnOrPark(lanes, runs, 'AAPL', 'a2', QUEUE.forward);
    await head;
    expect(turn.go).toBe(true);
    expect(headEnded).toBe(true);
    expect(await redis.hget(keys.laneParked, 'a2')).toBeNull();
  });

  it('parks, marked to be woken in its queue, when its head runs elsewhere', async () => {
    await accept('MSFT', 'm1', 'm2');
    const turn = await turnOrPark(lanes, new RunsHere(), 'MSFT', 'm2', QUEUE.forward);
    expect(turn).toMatchObject({ go: false, head: 'm1' });
    expect(await redis.hget(keys.laneParked, 'm2')).toBe(QUEUE.forward);
    // The head's end names it to wake.
    expect(await lanes.end('MSFT', 'm1')).toEqual({ signalId: 'm2', queue: QUEUE.forward });
  });

  it('stops waiting for a head that runs here but does not end within a second, and parks', async () => {
    await accept('NVDA', 'n1', 'n2');
    const runs = new RunsHere();
    let release!: () => void;
    const head = runs.track(() => new Promise<void>((resolve) => { release = resolve; }))({ id: 'n1' } as Job);
    const turn = await turnOrPark(lanes, runs, 'NVDA', 'n2', QUEUE.forward);
    release();
    await head;
    expect(turn).toMatchObject({ go: false, head: 'n1' });
    expect(await redis.hget(keys.laneParked, 'n2')).toBe(QUEUE.forward);
  });
});
