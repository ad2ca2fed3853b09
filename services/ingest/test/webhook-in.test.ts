import request from 'supertest';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE } from '@tsp/core';
import { startIngest } from '../src/service';
import { uniquePrefix } from '../../../test/support/helpers';

const SECRET = 'tv-secret';

describe('POST /webhook/in', () => {
  const prefix = uniquePrefix('ingest');
  const config = loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', WEBHOOK_SECRET: SECRET, ADMIN_TOKEN: 'admin' });
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;
  let redis: IORedis;
  let queue: Queue;

  beforeAll(async () => {
    ingest = await startIngest(config, createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
    redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUE.signals, { connection: redis, prefix });
  });

  afterAll(async () => {
    await ingest.stop();
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });

  async function enqueued(): Promise<number> {
    return queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  }

  it('accepts a JSON signal, answers 202 with its id, and the job holds the normalised signal', async () => {
    const res = await request(url).post('/webhook/in').send({ ticker: 'NASDAQ:nvda', side: 'buy', price: 101.5, secret: SECRET, strategy: 'breakout' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String), status: 'queued' });
    const job = await queue.getJob(res.body.id);
    expect(job?.data).toMatchObject({ id: res.body.id, ticker: 'NVDA', side: 'BUY', body: { ticker: 'NVDA', action: 'buy', price: 101.5, strategy: 'breakout' } });
    expect(job?.data.body.secret).toBeUndefined();
  });

  it('accepts JSON sent as text/plain, as TradingView does, with the secret in a header', async () => {
    const res = await request(url).post('/webhook/in').set('Content-Type', 'text/plain').set('X-Webhook-Secret', SECRET).send('{"ticker":"AMD","action":"sell"}');
    expect(res.status).toBe(202);
    expect((await queue.getJob(res.body.id))?.data).toMatchObject({ ticker: 'AMD', side: 'SELL', action: 'sell' });
  });

  it('answers a repeated Idempotency-Key with 200 and the first id, enqueuing nothing more', async () => {
    const first = await request(url).post('/webhook/in').set('Idempotency-Key', `k-${prefix}`).send({ ticker: 'AAPL', side: 'buy', secret: SECRET });
    const before = await enqueued();
    const repeat = await request(url).post('/webhook/in').set('Idempotency-Key', `k-${prefix}`).send({ ticker: 'AAPL', side: 'buy', secret: SECRET });
    expect(first.status).toBe(202);
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    expect(await enqueued()).toBe(before);
  });

  it('treats the body id field as the idempotency key', async () => {
    const first = await request(url).post('/webhook/in').send({ id: `alert-${prefix}`, ticker: 'MSFT', side: 'buy', secret: SECRET });
    const repeat = await request(url).post('/webhook/in').send({ id: `alert-${prefix}`, ticker: 'MSFT', side: 'buy', secret: SECRET });
    expect([first.status, repeat.status]).toEqual([202, 200]);
    expect(repeat.body.id).toBe(first.body.id);
  });

  /** A JSON object posted with the secret in the body. */
  const post = (body: Record<string, unknown>) => () => request(url).post('/webhook/in').send({ secret: SECRET, ...body });
  /** Raw text posted as application/json with the secret in a header, for bodies JSON.stringify cannot write. */
  const postText = (text: string) => () => request(url).post('/webhook/in').set('Content-Type', 'application/json').set('X-Webhook-Secret', SECRET).send(text);
  const signal = { ticker: 'AAPL', side: 'buy' };
  /** A signal whose `deep` field brings the whole body to `levels` levels of objects and arrays. */
  const nestedText = (levels: number) => `{"ticker":"AAPL","side":"buy","deep":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  /** A signal of exactly `bytes` bytes of JSON text. */
  const textOfBytes = (bytes: number) => {
    const empty = JSON.stringify({ ...signal, pad: '' });
    return JSON.stringify({ ...signal, pad: 'x'.repeat(bytes - empty.length) });
  };
  const wrongTypes: [string, unknown][] = [['a number', 7], ['an array', ['AAPL']], ['an object', { value: 'AAPL' }], ['a boolean', false]];

  it('accepts tab, CR and LF inside a passthrough string and passes them on unchanged', async () => {
    const res = await post({ ...signal, note: 'line 1\r\nline 2\tend', meta: { lines: ['a\nb'] } })();
    expect(res.status).toBe(202);
    expect((await queue.getJob(res.body.id))?.data.body).toMatchObject({ note: 'line 1\r\nline 2\tend', meta: { lines: ['a\nb'] } });
  });

  it('accepts JSON nested 32 levels deep', async () => {
    const res = await postText(nestedText(32))();
    expect(res.status).toBe(202);
    expect((await queue.getJob(res.body.id))?.data.body.deep).toBeDefined();
  });

  it('accepts a body of exactly 16 KiB', async () => {
    expect((await postText(textOfBytes(16 * 1024))()).status).toBe(202);
  });

  it('accepts NaN as a ticker: NAN is listed', async () => {
    const res = await post({ ticker: 'NaN', side: 'buy' })();
    expect(res.status).toBe(202);
    expect((await queue.getJob(res.body.id))?.data.ticker).toBe('NAN');
  });

  describe('every error enqueues nothing', () => {
    // Every row has all five entries: jest reads a missing last argument as a done() callback.
    const cases: [string, () => request.Test, number, string, string[] | undefined][] = [
      // Wrong types, for every field tsp reads (a number is a price's and a time's right type).
      ...(['ticker', 'side', 'action', 'price', 'time'] as const).flatMap((field) =>
        wrongTypes
          .filter(([, value]) => !(typeof value === 'number' && (field === 'price' || field === 'time')))
          .map(([name, value]): [string, () => request.Test, number, string, string[]] => [`a ${field} that is ${name}`, post({ ...signal, [field]: value }), 400, 'invalid_signal', [field]])),
      // Sizes.
      ['an 11-character ticker', post({ ...signal, ticker: 'ABCDEFGHIJK' }), 400, 'invalid_signal', ['ticker']],
      ['a body one byte over 16 KiB', postText(textOfBytes(16 * 1024 + 1)), 413, 'payload_too_large', undefined],
      // Control characters, lone surrogates and non-finite numbers, named by their path.
      ['NUL in a passthrough string', post({ ...signal, note: 'a\u0000b' }), 400, 'invalid_signal', ['note']],
      ['NUL in a nested passthrough string', post({ ...signal, meta: { note: '\u0000' } }), 400, 'invalid_signal', ['meta.note']],
      ['a control character in an array item', post({ ...signal, tags: ['a', 'b', 'bell\u0007'] }), 400, 'invalid_signal', ['tags[2]']],
      ['NUL in a key', post({ ...signal, 'k\u0000': 1 }), 400, 'invalid_signal', ['k\\u0000']],
      ['NUL in the ticker', post({ ...signal, ticker: 'AAPL\u0000' }), 400, 'invalid_signal', ['ticker']],
      ['a C1 control character', post({ ...signal, note: '\u009B31m' }), 400, 'invalid_signal', ['note']],
      ['a passthrough number of 1e999 (Infinity once parsed)', postText('{"ticker":"AAPL","side":"buy","qty":1e999}'), 400, 'invalid_signal', ['qty']],
      ['a lone surrogate in the raw text', postText('{"ticker":"AAPL","side":"buy","note":"\\ud800"}'), 400, 'invalid_signal', ['note']],
      // Tickers the one rule refuses.
      ['a Cyrillic look-alike ticker', post({ ...signal, ticker: '\u0410APL' }), 400, 'invalid_signal', ['ticker']],
      ['a full-width ticker', post({ ...signal, ticker: '\uFF21\uFF21\uFF30\uFF2C' }), 400, 'invalid_signal', ['ticker']],
      ['a ticker with a zero-width space', post({ ...signal, ticker: 'AA\u200BPL' }), 400, 'invalid_signal', ['ticker']],
      ['a ticker with a no-break space', post({ ...signal, ticker: 'AAPL\u00A0' }), 400, 'invalid_signal', ['ticker']],
      ['an unfilled {{ticker}} placeholder', post({ ...signal, ticker: '{{ticker}}' }), 400, 'invalid_signal', ['ticker']],
      ['the ticker "undefined"', post({ ...signal, ticker: 'undefined' }), 400, 'invalid_signal', ['ticker']],
      ['the ticker "null"', post({ ...signal, ticker: 'null' }), 400, 'invalid_signal', ['ticker']],
      ['an empty exchange prefix', post({ ...signal, ticker: ':AAPL' }), 400, 'invalid_signal', ['ticker']],
      // Prices and times.
      ['an empty price', post({ ...signal, price: '' }), 400, 'invalid_signal', ['price']],
      ['a 400-digit price', post({ ...signal, price: '9'.repeat(400) }), 400, 'invalid_signal', ['price']],
      ['a price of 1e999 (Infinity once parsed)', postText('{"ticker":"AAPL","side":"buy","price":1e999}'), 400, 'invalid_signal', ['price']],
      ['a time in 1970', post({ ...signal, time: '1970-01-01T00:00:00Z' }), 400, 'invalid_signal', ['time']],
      ['a time in the year 9999', post({ ...signal, time: '9999-12-31T00:00:00Z' }), 400, 'invalid_signal', ['time']],
      ['a time two days ahead', post({ ...signal, time: Math.floor(Date.now() / 1000) + 2 * 86400 }), 400, 'invalid_signal', ['time']],
      // Side and action.
      ['a side BUY and an action that is a SELL word', post({ ticker: 'AAPL', side: 'buy', action: 'exit' }), 400, 'invalid_signal', ['side', 'action']],
      ['a side SELL and an action that is a BUY word', post({ ticker: 'AAPL', side: 'sell', action: 'add' }), 400, 'invalid_signal', ['side', 'action']],
      ['an action that is no action word', post({ ticker: 'AAPL', side: 'buy', action: 'hold' }), 400, 'invalid_signal', ['action']],
      ['cancel without a side', post({ ticker: 'AAPL', action: 'cancel' }), 400, 'invalid_signal', ['side']],
      // Nesting, refused before JSON.parse.
      ['JSON nested 5,000 levels deep', postText(nestedText(5000)), 400, 'invalid_json', undefined],
      ['JSON nested 33 levels deep', postText(nestedText(33)), 400, 'invalid_json', undefined],
      ['a missing ticker', () => request(url).post('/webhook/in').send({ side: 'buy', secret: SECRET }), 400, 'invalid_signal', ['ticker']],
      ['a bad side', () => request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'hold', secret: SECRET }), 400, 'invalid_signal', ['side']],
      ['a bad price', () => request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy', price: 0, secret: SECRET }), 400, 'invalid_signal', ['price']],
      ['a bad time', () => request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy', time: 'soon', secret: SECRET }), 400, 'invalid_signal', ['time']],
      ['several bad fields', () => request(url).post('/webhook/in').send({ ticker: '', action: 'x', price: 'abc', secret: SECRET }), 400, 'invalid_signal', ['ticker', 'action', 'price']],
      ['text that is not JSON', () => request(url).post('/webhook/in').set('Content-Type', 'text/plain').send('buy AAPL now'), 400, 'invalid_json', undefined],
      ['a JSON array', () => request(url).post('/webhook/in').send([{ ticker: 'AAPL' }]), 400, 'invalid_json', undefined],
      ['a wrong secret', () => request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy', secret: 'nope' }), 401, 'unauthorized', undefined],
      ['no secret', () => request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy' }), 401, 'unauthorized', undefined],
      ['a body over 16 KiB', () => request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy', secret: SECRET, pad: 'x'.repeat(17 * 1024) }), 413, 'payload_too_large', undefined],
      ['a form body', () => request(url).post('/webhook/in').type('form').send('ticker=AAPL&side=buy'), 415, 'unsupported_media_type', undefined],
    ];
    it.each(cases)('%s', async (_name, send, status, error, fields) => {
      const before = await enqueued();
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.body.error).toBe(error);
      expect(typeof res.body.message).toBe('string');
      if (fields) expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(fields);
      expect(await enqueued()).toBe(before);
    });
  });

  it('shows a signal that awaits its decision as queued', async () => {
    const posted = await request(url).post('/webhook/in').send({ ticker: 'TSLA', side: 'buy', secret: SECRET });
    const res = await request(url).get(`/signals/${posted.body.id}`).set('Authorization', 'Bearer admin');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: posted.body.id, kind: 'source', ticker: 'TSLA', side: 'BUY', status: 'queued', deliveries: [] });
  });

  it('keeps signals behind the admin token', async () => {
    const posted = await request(url).post('/webhook/in').send({ ticker: 'TSLA', side: 'buy', secret: SECRET });
    expect((await request(url).get(`/signals/${posted.body.id}`)).status).toBe(401);
    expect((await request(url).get(`/signals/${posted.body.id}`).set('Authorization', 'Bearer wrong')).status).toBe(401);
  });
});
