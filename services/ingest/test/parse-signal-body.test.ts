import { MAX_NESTING, parseSignalBody } from '../src/signal/parse-signal-body';

/** A JSON object nested `levels` deep, counting itself: {"a":[[...]]}. */
const nested = (levels: number) => `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

describe('reading the body of a signal', () => {
  it('reads a JSON object', () => {
    expect(parseSignalBody('{"ticker":"AAPL","side":"buy"}')).toEqual({ ok: true, input: { ticker: 'AAPL', side: 'buy' } });
  });

  it('allows 32 levels of nesting and refuses 33 and 5,000', () => {
    expect(MAX_NESTING).toBe(32);
    expect(parseSignalBody(nested(32)).ok).toBe(true);
    expect(parseSignalBody(nested(33))).toEqual({ ok: false, message: expect.stringMatching(/deeper than 32 levels/) });
    expect(parseSignalBody(nested(5000))).toEqual({ ok: false, message: expect.stringMatching(/deeper than 32 levels/) });
  });

  it('counts objects and arrays alike', () => {
    const objects = `${'{"a":'.repeat(33)}1${'}'.repeat(33)}`;
    expect(parseSignalBody(objects)).toEqual({ ok: false, message: expect.stringMatching(/deeper/) });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const brackets = '['.repeat(100);
    expect(parseSignalBody(`{"a":"${brackets}"}`).ok).toBe(true);
    expect(parseSignalBody(`{"a":"say \\"${brackets}\\" twice \\"${brackets}"}`).ok).toBe(true);
    expect(parseSignalBody(`{"${brackets}":1}`).ok).toBe(true);
  });

  it('ends a string at a quote after an escaped backslash, and counts the brackets after it', () => {
    const body = `{"a":"x\\\\","b":${'['.repeat(40)}${']'.repeat(40)}}`;
    expect(JSON.parse(body).a).toBe('x\\');
    expect(parseSignalBody(body)).toEqual({ ok: false, message: expect.stringMatching(/deeper/) });
  });

  it.each([
    ['text that is not JSON', 'buy AAPL now', /not valid JSON/],
    ['an empty body', '', /not valid JSON/],
    ['more closing than opening brackets', `{"a":1}${']'.repeat(40)}${'['.repeat(40)}`, /not valid JSON/],
    ['a JSON array', '[{"ticker":"AAPL"}]', /must be a JSON object/],
    ['JSON null', 'null', /must be a JSON object/],
    ['a JSON string', '"AAPL"', /must be a JSON object/],
  ])('refuses %s, saying why', (_name, text, why) => {
    expect(parseSignalBody(text)).toEqual({ ok: false, message: expect.stringMatching(why) });
  });

  it('refuses a body that was not read as text', () => {
    expect(parseSignalBody({ ticker: 'AAPL' })).toEqual({ ok: false, message: 'Body must be JSON text' });
  });
});
