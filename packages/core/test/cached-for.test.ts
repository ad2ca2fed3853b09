import { cachedFor } from '../src/cached-for';

describe('an answer cached for a while', () => {
  it('computes once for every caller within its time, shares one run, and computes again after it', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const load = cachedFor(60_000, () => new Promise<number>((resolve) => { runs += 1; release = () => resolve(runs); }));
    const first = load();
    const second = load();
    release();
    expect(await first).toBe(1);
    expect(await second).toBe(1);
    expect(await load()).toBe(1);
    expect(runs).toBe(1);

    const fresh = cachedFor(0, async () => ++runs);
    await fresh();
    await new Promise((resolve) => setTimeout(resolve, 2));
    await fresh();
    expect(runs).toBe(3);
  });

  it('keeps no failure: the next call tries again', async () => {
    let calls = 0;
    const load = cachedFor(60_000, async () => {
      calls += 1;
      if (calls === 1) throw new Error('Redis down');
      return 'ok';
    });
    await expect(load()).rejects.toThrow('Redis down');
    expect(await load()).toBe('ok');
  });
});
