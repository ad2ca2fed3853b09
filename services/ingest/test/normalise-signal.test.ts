import { normaliseSignal } from '../src/signal/normalise-signal';

const now = new Date('2026-11-24T10:00:00.000Z');
const HOUR_MS = 3600 * 1000;

/** The fields a refused signal names, or "accepted". */
function refusedFields(input: Record<string, unknown>): string[] | 'accepted' {
  const result = normaliseSignal(input, now);
  return result.ok ? 'accepted' : result.errors.map((e) => e.field);
}

function accepted(input: Record<string, unknown>) {
  const result = normaliseSignal(input, now);
  if (!result.ok) throw new Error(`expected the signal to be accepted, got ${JSON.stringify(result.errors)}`);
  return result.signal;
}

describe('normalising a source signal', () => {
  it('strips the exchange, upper-cases and writes class shares as Finviz does', () => {
    expect(accepted({ ticker: 'NASDAQ:aapl', side: 'buy' }).ticker).toBe('AAPL');
    expect(accepted({ ticker: 'BRK.B', side: 'buy' }).ticker).toBe('BRK-B');
    expect(accepted({ ticker: 'NYSE:BRK/B', side: 'buy' }).body.ticker).toBe('BRK-B');
  });

  it('accepts NaN as a ticker: NAN is listed', () => {
    expect(accepted({ ticker: 'NaN', side: 'buy' }).ticker).toBe('NAN');
  });

  it('maps TradingView actions to sides and keeps the source action for the destination', () => {
    const result = normaliseSignal({ ticker: 'AAPL', action: 'Long', price: '150.25', qty: 3 }, now);
    expect(result).toEqual({
      ok: true,
      signal: {
        kind: 'source', ticker: 'AAPL', side: 'BUY', action: 'Long', price: 150.25, time: now.toISOString(),
        body: { ticker: 'AAPL', side: 'BUY', action: 'Long', price: 150.25, time: now.toISOString(), qty: 3 },
        receivedBody: { ticker: 'AAPL', action: 'Long', price: '150.25', qty: 3 },
      },
    });
  });

  it.each([['exit'], ['close'], ['flat'], ['short'], ['SELL']])('reads %s as SELL', (word) => {
    const result = normaliseSignal({ ticker: 'X', side: word }, now);
    expect(result.ok && result.signal.side).toBe('SELL');
  });

  it('keeps the body as received, its own fields unnormalised, without the secret', () => {
    const input = { ticker: 'nasdaq:brk.b', side: 'long', price: '12.5', time: 1795514340, max_lag: 60, secret: 's3cret', note: 'x' };
    const result = normaliseSignal(input, now);
    expect(result.ok && result.signal.receivedBody).toEqual({ ticker: 'nasdaq:brk.b', side: 'long', price: '12.5', time: 1795514340, max_lag: 60, note: 'x' });
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
    expect(JSON.stringify(result)).not.toContain('s3cret');
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

describe('refusing a field of the wrong type', () => {
  const wrongValues: [string, unknown][] = [['a number', 1], ['an array', ['AAPL']], ['an object', { value: 'AAPL' }], ['a boolean', true]];
  // A number is the right type for a price and for a time (epoch seconds).
  const cases = ['ticker', 'side', 'action', 'price', 'time']
    .flatMap((field) => wrongValues.map(([name, value]) => [field, name, value] as const))
    .filter(([field, , value]) => !(typeof value === 'number' && (field === 'price' || field === 'time')));
  it.each(cases)('refuses a %s that is %s, naming it', (field, _name, value) => {
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', [field]: value })).toEqual([field]);
  });

  it('refuses a null ticker, side or action, and reads a null price or time as absent', () => {
    expect(refusedFields({ ticker: null, side: 'buy' })).toEqual(['ticker']);
    expect(refusedFields({ ticker: 'AAPL', side: null })).toEqual(['side']);
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', action: null })).toEqual(['action']);
    const signal = accepted({ ticker: 'AAPL', side: 'buy', price: null, time: null });
    expect(signal.price).toBeUndefined();
    expect(signal.time).toBe(now.toISOString());
  });
});

describe('refusing tickers the one ticker rule refuses', () => {
  it.each([
    ['an 11-character symbol', 'ABCDEFGHIJK'],
    ['an empty exchange prefix', ':AAPL'],
    ['an empty class suffix', 'AAPL-'],
    ['two class suffixes', 'BRK.B.C'],
    ['two exchange prefixes', 'NASDAQ:AAPL:X'],
    ['a Cyrillic look-alike', '\u0410APL'],
    ['full-width letters', '\uFF21\uFF21\uFF30\uFF2C'],
    ['a zero-width space', 'AA\u200BPL'],
    ['a no-break space', 'AAPL\u00A0'],
    ['a template placeholder', '{{ticker}}'],
    ['undefined', 'undefined'],
    ['null', 'null'],
    ['an empty string', ''],
  ])('refuses a ticker with %s, saying why', (_name, ticker) => {
    const result = normaliseSignal({ ticker, side: 'buy' }, now);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([{ field: 'ticker', message: expect.stringMatching(/^ticker ".*" \S+/) }]);
  });
});

describe('side and action', () => {
  it.each([
    ['buy', 'sell'], ['BUY', 'exit'], ['long', 'close'], ['buy', 'flat'], ['enter', 'short'],
    ['sell', 'buy'], ['SELL', 'add'], ['short', 'long'], ['exit', 'enter'],
  ])('refuses a side %s and an action %s that disagree, naming both', (side, action) => {
    expect(refusedFields({ ticker: 'AAPL', side, action })).toEqual(['side', 'action']);
  });

  it.each([
    ['buy', 'buy', 'BUY'], ['Buy', 'ADD', 'BUY'], ['long', 'enter', 'BUY'], ['buy', 'cancel', 'BUY'],
    ['sell', 'exit', 'SELL'], ['SELL', 'Close', 'SELL'], ['short', 'flat', 'SELL'], ['sell', 'cancel', 'SELL'],
  ])('accepts a side %s with an action %s that agrees, and sends the source\'s own action', (side, action, expected) => {
    const signal = accepted({ ticker: 'AAPL', side, action });
    expect(signal.side).toBe(expected);
    expect(signal.action).toBe(action);
    expect(signal.body.action).toBe(action);
  });

  it.each(['hold', 'buy_to_open', 'reverse', ''])('refuses the action %j, naming action', (action) => {
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', action })).toEqual(['action']);
  });

  it('takes the side from an action alone, add being a BUY word', () => {
    expect(accepted({ ticker: 'AAPL', action: 'add' }).side).toBe('BUY');
    expect(accepted({ ticker: 'AAPL', action: 'EXIT' }).side).toBe('SELL');
  });

  it('refuses cancel alone: it can be either side, so the side is missing', () => {
    expect(refusedFields({ ticker: 'AAPL', action: 'cancel' })).toEqual(['side']);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('refuses %s as a side and as an action, though every object has it', (word) => {
    expect(refusedFields({ ticker: 'AAPL', side: word })).toEqual(['side']);
    expect(refusedFields({ ticker: 'AAPL', action: word })).toEqual(['action']);
  });

  it('refuses action words as a side', () => {
    expect(refusedFields({ ticker: 'AAPL', side: 'add' })).toEqual(['side']);
    expect(refusedFields({ ticker: 'AAPL', side: 'cancel' })).toEqual(['side']);
  });
});

describe('price', () => {
  it.each([
    ['an empty string', ''],
    ['blanks', '   '],
    ['zero', 0],
    ['a negative number', -1],
    ['infinity (what JSON 1e999 becomes)', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
    ['a 400-digit numeric string', '9'.repeat(400)],
    ['an exponent string', '1e999'],
    ['text', 'abc'],
  ])('refuses %s', (_name, price) => {
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', price })).toEqual(['price']);
  });

  it('reads a number or a decimal string above 0', () => {
    expect(accepted({ ticker: 'AAPL', side: 'buy', price: 150.25 }).price).toBe(150.25);
    expect(accepted({ ticker: 'AAPL', side: 'buy', price: '0.5' }).body.price).toBe(0.5);
  });
});

describe('time', () => {
  it.each([
    ['the year 1970 as ISO', '1970-01-01T00:00:00Z'],
    ['epoch 0', 0],
    ['a negative epoch', -1],
    ['the year 0001', '0001-01-01T00:00:00Z'],
    ['the year 9999', '9999-12-31T00:00:00Z'],
    ['one second before 2000', '1999-12-31T23:59:59Z'],
    ['epoch seconds one second before 2000', 946684799],
    ['two days after arrival', new Date(now.getTime() + 48 * HOUR_MS).toISOString()],
    ['epoch milliseconds two days after arrival', now.getTime() + 48 * HOUR_MS],
    ['an epoch beyond what a date can hold', 1e20],
    ['infinity', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
    ['a day that does not exist', '2026-02-31T00:00:00Z'],
    ['a month that does not exist', '2026-13-01'],
  ])('refuses %s, naming time', (_name, time) => {
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', time })).toEqual(['time']);
  });

  it('accepts 2000-01-01 and up to one day after arrival', () => {
    expect(accepted({ ticker: 'AAPL', side: 'buy', time: '2000-01-01T00:00:00Z' }).time).toBe('2000-01-01T00:00:00.000Z');
    const inADay = new Date(now.getTime() + 24 * HOUR_MS).toISOString();
    expect(accepted({ ticker: 'AAPL', side: 'buy', time: inADay }).time).toBe(inADay);
  });
});

describe('control characters, lone surrogates and non-finite numbers anywhere in the body', () => {
  it.each([
    ['NUL in a passthrough string', { note: 'a\u0000b' }, ['note']],
    ['a C0 control nested in an object', { meta: { note: 'x\u0001' } }, ['meta.note']],
    ['a control character in an array', { tags: ['a', 'b', 'c\u001F'] }, ['tags[2]']],
    ['DEL', { note: 'x\u007F' }, ['note']],
    ['a C1 control', { note: 'x\u0085' }, ['note']],
    ['NUL in a key', { 'bad\u0000key': 1 }, ['bad\\u0000key']],
    ['a tab in a nested key', { meta: { 'a\tb': 'x' } }, ['meta.a\\u0009b']],
    ['a lone high surrogate', { note: '\uD800' }, ['note']],
    ['a lone low surrogate', { note: 'x\uDC00y' }, ['note']],
    ['a lone surrogate in a key', { ['k\uDBFF']: 'x' }, ['k\\uDBFF']],
    ['NUL in the ticker', { ticker: 'AAPL\u0000' }, ['ticker']],
    ['a tab in the ticker', { ticker: 'AAPL\t' }, ['ticker']],
    ['a line feed in the side', { side: 'buy\n' }, ['side']],
    ['NUL in the secret', { secret: 's\u0000' }, ['secret']],
  ])('refuses %s, naming the field by its path', (_name, fields, expected) => {
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', ...fields })).toEqual(expected);
  });

  it('refuses a passthrough number that is not finite, which JSON would write back as null', () => {
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', qty: Number.POSITIVE_INFINITY })).toEqual(['qty']);
    expect(refusedFields({ ticker: 'AAPL', side: 'buy', meta: { sizes: [1, Number.NEGATIVE_INFINITY] } })).toEqual(['meta.sizes[1]']);
  });

  it('accepts tab, CR and LF inside a passthrough string and passes it on unchanged', () => {
    const signal = accepted({ ticker: 'AAPL', side: 'buy', note: 'line 1\r\nline 2\tend', meta: { lines: ['a\nb'] } });
    expect(signal.body).toMatchObject({ note: 'line 1\r\nline 2\tend', meta: { lines: ['a\nb'] } });
  });

  it('accepts a surrogate pair (an emoji) and a no-break space in a passthrough string', () => {
    expect(accepted({ ticker: 'AAPL', side: 'buy', note: 'to the moon \uD83D\uDE80\u00A0!' }).body.note).toBe('to the moon \uD83D\uDE80\u00A0!');
  });
});
