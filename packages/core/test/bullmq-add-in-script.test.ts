import IORedis from 'ioredis';
import { Queue } from 'bullmq';
import { BullmqAddInScript } from '../src/bullmq-add-in-script';
import { forwardJobOptions } from '../src/jobs';
import { QUEUE } from '../src/names';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

/**
 * A script of ours that writes a key and then, only when the key was new, adds the job (as the
 * approver's decision and its delivery job): KEYS ours (1), then BullMQ's; ARGV ours (1), then BullMQ's.
 */
const addOnce = new BullmqAddInScript('tspTestAddOnce', (bullmqAddFunction) => `${bullmqAddFunction}
if redis.call('SET', KEYS[1], ARGV[1], 'NX') == false then return {0, false} end
return {1, bullmqAdd({unpack(KEYS, 2)}, {unpack(ARGV, 2)})}`, (reply) => (reply as unknown[])[1] ?? null);

describe("BullMQ's add inside a script of ours", () => {
  const prefix = uniquePrefix('add-in-script');
  const redis = new IORedis(process.env.REDIS_URL!);
  const queue = new Queue(QUEUE.forward, { connection: redis, prefix });
  const run = (id: string, data: unknown) => addOnce.run(redis, { queue, name: 'forward', id, data, opts: forwardJobOptions(id, 3) }, [`${prefix}:own:${id}`], ['mine']);

  afterAll(async () => {
    await queue.close();
    await deletePrefixKeys(prefix);
    redis.disconnect();
  });

  it('adds the job as Queue.add would, in the same call as our own write, and answers our reply', async () => {
    expect(await run('j1', { n: 1 })).toEqual([1, 'j1']);
    await queue.add('forward', { n: 2 }, forwardJobOptions('j2', 3));
    const [ours, theirs] = await Promise.all([queue.getJob('j1'), queue.getJob('j2')]);
    expect(ours?.data).toEqual({ n: 1 });
    expect(ours?.opts).toEqual({ ...theirs?.opts, jobId: 'j1' });
    expect(await queue.getJobState('j1')).toBe('waiting');
    expect(await redis.get(`${prefix}:own:j1`)).toBe('mine');
  });

  it('adds nothing when our script decides not to', async () => {
    await redis.set(`${prefix}:own:j3`, 'earlier');
    expect(await run('j3', { n: 3 })).toEqual([0, null]);
    expect(await queue.getJob('j3')).toBeUndefined();
  });
});
