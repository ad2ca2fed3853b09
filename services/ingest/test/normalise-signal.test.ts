import { normaliseSignal, normaliseTicker } from '../src/signal/normalise-signal';

const now = new Date('2026-11-24T10:00:00.000Z');

describe('normalising a source signal', () => {
  it('strips the exchange, upper-cases and writes class shares as Finviz does', () => {
    expect(normaliseTicker('NASDAQ:aapl')).toBe('AAPL');
    expect(normaliseTicker('BRK.B')).toBe('BRK-B');
    expect(normaliseTicker('NYSE:BRK/B')).toBe('BRK-B');
  });

  it('maps TradingView actions to sides and keeps the source action for the destination', () => {
    const result = normaliseSignal({ ticker: 'AAPL', action: 'Long', price: '150.25', qty: 3 }, now);
    expect(result).toEqual({
      ok: true,
      signal: {
        kind: 'source', ticker: 'AAPL', side: 'BUY', action: 'Long', price: 150.25, time: now.toISOString(),
        body: { ticker: 'AAPL', side: 'BUY', action: 'Long', price: 150.25, time: now.toISOString(), qty: 3 },
      },
    });
  });

  it.each([['exit'], ['close'], ['flat'], ['short'], ['SELL']])('reads %s as SELL', (word) => {
    const result = normaliseSignal({ ticker: 'X', side: word }, now);
    expect(result.ok && result.signal.side).toBe('SELL');
  });

  it('derives the action from the side when the source sent none', () => {
    const result = normaliseSignal({ ticker: 'X', side: 'buy' }, now);
    expect(result.ok && result.signal.body.action).toBe('buy');
  });

  it('accepts epoch seconds, epoch milliseconds and ISO times', () => {
    const iso = '2026-11-24T09:59:00.000Z';
    for (const time of [1795514340, 1795514340000, '1795514340', iso]) {
      const result = normaliseSignal({ ticker: 'X', side: 'buy', time }, now);
      expect(result.ok && result.signal.time).toBe(iso);
    }
  });

  it('never keeps the secret', () => {
    const result = normaliseSignal({ ticker: 'X', side: 'buy', secret: 's3cret' }, now);
    expect(result.ok && 'secret' in result.signal.body).toBe(false);
  });

  it('names every bad field at once', () => {
    const result = normaliseSignal({ ticker: 42, side: 'hold', price: -1, time: 'yesterday' }, now);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual(['ticker', 'side', 'price', 'time']);
  });

  it('asks for a side when there is neither side nor action', () => {
    const result = normaliseSignal({ ticker: 'AAPL' }, now);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual(['side']);
  });
});
