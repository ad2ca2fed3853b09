import IORedis from 'ioredis';
import { forecastStarts, limitsInForce, StartAfterDeadlineError, StartLog, WindowFullError, type RateWindow } from '../src/rate-windows';
import { uniquePrefix, waitFor } from '../../../test/support/helpers';
import { densestWindow } from '../../../test/support/rate-window';

describe('the logs of request starts', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  afterAll(() => redis.disconnect());

  it('admits at most cap starts in any window, across replicas, and admits more as the window slides', async () => {
    const windows: RateWindow[] = [{ cap: 3, windowMs: 1000, key: `${uniquePrefix('starts')}:destination:starts` }];
    const replicas = [new StartLog(redis), new StartLog(redis)];
    // Admission times on Redis's clock, the one that decides.
    const times = (await Promise.all(Array.from({ length: 8 }, (_, i) => replicas[i % 2].admit(windows)))).sort((a, b) => a - b);
    expect(times).toHaveLength(8);
    expect(densestWindow(times, 1000).count).toBe(3);
    await redis.del(windows[0].key);
  });

  it('holds two windows together: the tighter of the two decides, in every sliding window of each', async () => {
    const prefix = uniquePrefix('starts2');
    // A "minute" of 400 ms for 3 starts and an "hour" of 1500 ms for 5: the same checker proves both.
    const windows: RateWindow[] = [{ cap: 3, windowMs: 400, key: `${prefix}:m` }, { cap: 5, windowMs: 1500, key: `${prefix}:h` }];
    const replicas = [new StartLog(redis), new StartLog(redis), new StartLog(redis)];
    const times = (await Promise.all(Array.from({ length: 12 }, (_, i) => replicas[i % 3].admit(windows)))).sort((a, b) => a - b);
    expect(densestWindow(times, 400).count).toBeLessThanOrEqual(3);
    expect(densestWindow(times, 1500).count).toBe(5);
    expect(await redis.zcard(windows[1].key)).toBeLessThanOrEqual(5);
    expect(await redis.pttl(windows[1].key)).toBeGreaterThan(0);
    await redis.del(windows[0].key, windows[1].key);
  });

  it('stops waiting when its holder gives up, without recording a start', async () => {
    const windows: RateWindow[] = [{ cap: 1, windowMs: 60_000, key: `${uniquePrefix('starts3')}:m` }];
    const log = new StartLog(redis);
    await log.admit(windows);
    let abandoned = false;
    const waiting = log.admit(windows, { abandoned: () => abandoned });
    abandoned = true;
    await expect(waiting).rejects.toThrow('stopped waiting');
    expect(await redis.zcard(windows[0].key)).toBe(1);
    await redis.del(windows[0].key);
  });
});

describe('a start that cannot be used is never recorded', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  afterAll(() => redis.disconnect());

  it('refuses a start the windows admit only after the deadline, and hands back a long wait, recording neither', async () => {
    const windows: RateWindow[] = [{ cap: 1, windowMs: 60_000, key: `${uniquePrefix('starts4')}:h` }];
    const log = new StartLog(redis);
    await log.admit(windows);
    await expect(log.admit(windows, { deadline: Date.now() + 1000 })).rejects.toBeInstanceOf(StartAfterDeadlineError);
    const handedBack = await log.admit(windows, { maxWaitMs: 5000 }).catch((error) => error);
    expect(handedBack).toBeInstanceOf(WindowFullError);
    expect(handedBack.waitMs).toBeGreaterThan(55_000);
    expect(await redis.zcard(windows[0].key)).toBe(1);
    await redis.del(windows[0].key);
  });
});

describe('the forecast of when a backlog clears', () => {
  const minute = (starts: number[] = []) => ({ cap: 60, windowMs: 60_000, starts });
  const hour = (starts: number[] = []) => ({ cap: 500, windowMs: 3_600_000, starts });

  it('may start at once with no recent starts, and clears 59 spacings later for 60 signals', () => {
    const forecast = forecastStarts(60, [minute(), hour()], 1000, 0);
    expect(forecast).toEqual({ nextStartAt: 0, clearsAt: 59_000 });
  });

  it('waits for the oldest start of a full window to leave it', () => {
    const full = Array.from({ length: 60 }, (_, i) => (i + 1) * 1000);
    expect(forecastStarts(1, [minute(full), hour(full)], 1000, 60_500).nextStartAt).toBe(61_000);
  });

  it('pushes a backlog past the hour once the hour\'s cap is used', () => {
    const used = Array.from({ length: 500 }, (_, i) => i * 1000); // 500 starts in the last 500 s
    const now = 500_000;
    const forecast = forecastStarts(1, [minute(used.filter((t) => t > now - 60_000)), hour(used)], 1000, now);
    // The first of the hour's starts leaves it at 3,600,000 ms.
    expect(forecast.clearsAt).toBe(3_600_000);
  });

  it('answers for a backlog of millions at once, at the hour\'s steady rate', () => {
    const forecast = forecastStarts(2_000_000, [minute(), hour()], 1000, 0);
    // 500 an hour: two million starts take 4,000 hours.
    expect(forecast.clearsAt! / 3_600_000).toBeGreaterThan(3990);
    expect(forecast.clearsAt! / 3_600_000).toBeLessThan(4010);
  });

  it('says nothing clears for an empty backlog', () => {
    expect(forecastStarts(0, [minute(), hour()], 1000, 5).clearsAt).toBeNull();
  });
});

describe('the use of the windows', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  afterAll(() => redis.disconnect());

  it('counts the starts each window holds now, as admission counts them, and less as the shorter window slides', async () => {
    const prefix = uniquePrefix('startsuse');
    const windows: RateWindow[] = [{ cap: 10, windowMs: 600, key: `${prefix}:m` }, { cap: 50, windowMs: 60_000, key: `${prefix}:h` }];
    const log = new StartLog(redis);
    expect((await log.use(windows)).windows.map((w) => w.used)).toEqual([0, 0]);
    for (let i = 0; i < 3; i++) await log.admit(windows);
    const use = await log.use(windows);
    expect(use.windows).toEqual([{ cap: 10, windowMs: 600, used: 3 }, { cap: 50, windowMs: 60_000, used: 3 }]);
    expect(Math.abs(use.at - Date.now())).toBeLessThan(60_000);
    // The short window empties; the long one still holds them.
    const later = await waitFor(async () => {
      const now = await log.use(windows);
      return now.windows[0].used === 0 ? now : null;
    }, 5000, 'the short window to empty');
    expect(later.windows[1].used).toBe(3);
    await redis.del(windows[0].key, windows[1].key);
  });
});

describe('the limits in force (runtime overrides over the environment)', () => {
  const env = { enabled: true, perMinute: 60 };

  it('takes a stored cap and switch over the environment', () => {
    expect(limitsInForce(env, '120', '0')).toEqual({ enabled: false, perMinute: 120, capSetAtRuntime: true, switchedAtRuntime: true });
    expect(limitsInForce({ ...env, enabled: false }, null, '1')).toMatchObject({ enabled: true, perMinute: 60, capSetAtRuntime: false });
  });

  it('keeps the environment where nothing valid is stored', () => {
    expect(limitsInForce(env, null, null)).toEqual({ enabled: true, perMinute: 60, capSetAtRuntime: false, switchedAtRuntime: false });
    for (const cap of ['0', '-5', '1.5', 'abc', '']) {
      expect(limitsInForce(env, cap, 'maybe')).toEqual({ enabled: true, perMinute: 60, capSetAtRuntime: false, switchedAtRuntime: false });
    }
  });
});
