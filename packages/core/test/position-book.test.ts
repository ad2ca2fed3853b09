import IORedis from 'ioredis';
import { PositionBook, type OpenPosition } from '../src/position-book';
import { uniquePrefix } from '../../../test/support/helpers';

describe('the position book', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  const prefix = uniquePrefix('positions');
  const book = new PositionBook(redis, prefix);
  const durable: OpenPosition[] = [{ ticker: 'OLD', openedAt: '2026-11-01T10:00:00.000Z', lastPrice: 5, signalId: 'a' }];

  afterAll(async () => {
    await redis.del(`${prefix}:positions`);
    redis.disconnect();
  });

  it('says it does not know until it is loaded, then answers from Redis', async () => {
    expect(await book.isOpen('OLD')).toBeNull();
    expect(await book.list()).toBeNull();
    await book.ensureLoaded(async () => durable);
    expect(await book.isOpen('OLD')).toBe(true);
    expect(await book.isOpen('NEW')).toBe(false);
    // Loading again does not read the durable copy once Redis holds the book.
    await book.ensureLoaded(async () => { throw new Error('must not be called'); });
  });

  it('opens on a BUY, keeps the opening time on a second BUY with the newer price, and closes on a SELL', async () => {
    await book.open({ ticker: 'NEW', openedAt: '2026-11-25T10:00:00.000Z', lastPrice: 10, signalId: 'b' });
    await book.open({ ticker: 'NEW', openedAt: '2026-11-25T11:00:00.000Z', lastPrice: 12, signalId: 'c' });
    expect(await book.list()).toEqual([durable[0], { ticker: 'NEW', openedAt: '2026-11-25T10:00:00.000Z', lastPrice: 12, signalId: 'b' }]);
    expect(await book.lastPrice('NEW')).toBe(12);
    // A fill without a price keeps the last known one; a price with cents survives the round trip.
    await book.open({ ticker: 'NEW', openedAt: '2026-11-25T12:00:00.000Z', lastPrice: null, signalId: 'd' });
    expect(await book.lastPrice('NEW')).toBe(12);
    await book.open({ ticker: 'NEW', openedAt: '2026-11-25T13:00:00.000Z', lastPrice: 150.25, signalId: 'e' });
    expect(await book.list()).toEqual([durable[0], { ticker: 'NEW', openedAt: '2026-11-25T10:00:00.000Z', lastPrice: 150.25, signalId: 'b' }]);
    await book.close('NEW');
    await book.close('OLD');
    expect(await book.list()).toEqual([]);
    expect(await book.isOpen('NEW')).toBe(false);
  });
});
