/**
 * Position corrections without a trade, through ingest over real Redis and Postgres: the book in
 * Redis (what the approver decides SELLs against) changes at once, the durable copy follows through
 * the audit outbox, and each correction is an admin action with its before and after.
 */
import IORedis from 'ioredis';
import request from 'supertest';
import { createLogger, loadConfig, PositionBook } from '@tsp/core';
import { AuditTrail, createAuditPool } from '@tsp/db';
import { startIngest } from '../src/service';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const ADMIN = 'corrections-admin-token';

describe('POST /positions/:ticker/open and /close', () => {
  const prefix = uniquePrefix('corrections');
  const redis = new IORedis(process.env.REDIS_URL!);
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const audit = new AuditTrail(pool, redis, prefix, createLogger('test', 'error'));
  const book = new PositionBook(redis, prefix);
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;

  beforeAll(async () => {
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });

  afterAll(async () => {
    await ingest.stop();
    await pool.query('DELETE FROM positions WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM admin_actions WHERE deployment = $1', [prefix]);
    await pool.end();
    await deletePrefixKeys(prefix);
    redis.disconnect();
  });

  const open = (ticker: string, body: unknown = {}) => request(url).post(`/positions/${ticker}/open`).set('Authorization', `Bearer ${ADMIN}`).send(body as object);
  const close = (ticker: string) => request(url).post(`/positions/${ticker}/close`).set('Authorization', `Bearer ${ADMIN}`);
  const durable = async (ticker: string) => {
    await audit.flush();
    return (await pool.query('SELECT ticker, last_price, signal_id FROM positions WHERE deployment = $1 AND ticker = $2', [prefix, ticker])).rows;
  };
  const actions = async (action: string) => (await request(url).get(`/admin/actions?action=${action}`).set('Authorization', `Bearer ${ADMIN}`)).body.items;

  it('opens a position by hand: GET /positions and the approver\'s book show it at once, Postgres after the outbox is written', async () => {
    const res = await open('opna', { price: 12.5 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ticker: 'OPNA', before: null, after: { ticker: 'OPNA', opened_at: expect.any(String), last_price: 12.5 } });
    expect(await book.isOpen('OPNA')).toBe(true);
    const listed = await request(url).get('/positions').set('Authorization', `Bearer ${ADMIN}`);
    expect(listed.body).toContainEqual({ ticker: 'OPNA', opened_at: res.body.after.opened_at, last_price: 12.5 });
    expect(await durable('OPNA')).toEqual([{ ticker: 'OPNA', last_price: 12.5, signal_id: null }]);
  });

  it('answers 409 for a position already open and changes nothing', async () => {
    const res = await open('OPNA', { price: 99 });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'already_open', details: [{ position: { ticker: 'OPNA', last_price: 12.5 } }] });
    expect(await book.lastPrice('OPNA')).toBe(12.5);
  });

  it('closes a position by hand, in Redis and then in Postgres; closing it again is 404', async () => {
    const res = await close('OPNA');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ticker: 'OPNA', before: { ticker: 'OPNA', opened_at: expect.any(String), last_price: 12.5 }, after: null });
    expect(await book.isOpen('OPNA')).toBe(false);
    expect(await durable('OPNA')).toEqual([]);
    const again = await close('OPNA');
    expect(again.status).toBe(404);
    expect(again.body.error).toBe('not_open');
  });

  it('opens without a price, and reads the ticker by the one ticker rule (lower case, class suffix, exchange prefix)', async () => {
    const res = await open('nyse:brk.b');
    expect(res.status).toBe(200);
    expect(res.body.after).toMatchObject({ ticker: 'BRK-B', last_price: null });
    expect((await close('BRK-B')).status).toBe(200);
  });

  it('logs every correction as an admin action with its before and after, refusals included', async () => {
    const opened = await actions('position.open');
    expect(opened.map((a: { outcome: string; http_status: number }) => [a.outcome, a.http_status])).toEqual([['done', 200], ['refused', 409], ['done', 200]]);
    expect(opened[2]).toMatchObject({ target: 'OPNA', token_kind: 'admin_token', principal: 'ADMIN_TOKEN', before: null, after: { ticker: 'OPNA', last_price: 12.5 } });
    expect(opened[1]).toMatchObject({ target: 'OPNA', after: null });
    const closed = await actions('position.close');
    expect(closed.find((a: { target: string; outcome: string }) => a.target === 'OPNA' && a.outcome === 'done')).toMatchObject({ before: { ticker: 'OPNA', last_price: 12.5 }, after: null });
  });

  it('loads the book from Postgres first when Redis lost it, then corrects it', async () => {
    // Redis lost the book (a restart without AOF): the correction loads it from Postgres first.
    await redis.del(`${prefix}:positions`);
    expect((await open('RELOAD', { price: 3 })).status).toBe(200);
    expect(await book.list()).toEqual([expect.objectContaining({ ticker: 'RELOAD' })]);
    expect((await close('RELOAD')).status).toBe(200);
    expect(await durable('RELOAD')).toEqual([]);
  });

  it('refuses without admin credentials (401) and changes nothing', async () => {
    expect((await request(url).post('/positions/AUTHX/open').send({})).status).toBe(401);
    expect((await request(url).post('/positions/AUTHX/open').set('Authorization', 'Bearer wrong').send({})).status).toBe(401);
    expect((await request(url).post('/positions/AUTHX/close')).status).toBe(401);
    expect(await book.isOpen('AUTHX')).toBe(false);
  });

  it.each([
    ['a Cyrillic look-alike', encodeURIComponent('\u0410APL')],
    ['a full-width letter', encodeURIComponent('\uFF21APL')],
    ['a zero-width space', encodeURIComponent('AA\u200BPL')],
    ['a control character', '%00AAPL'],
    ['a newline', 'AAPL%0A'],
    ['a DEL', 'AAPL%7F'],
    ['a template leftover', encodeURIComponent('{{ticker}}')],
    ['"undefined"', 'undefined'],
    ['a doubled separator', 'AAPL..B'],
    ['two class suffixes', 'BRK.B.C'],
    ['a symbol over 10 characters', 'ABCDEFGHIJK'],
    ['41 characters', 'A'.repeat(41)],
    ['an empty exchange prefix', ':AAPL'],
  ])('refuses a ticker with %s (400 naming the ticker) and changes nothing', async (_name, ticker) => {
    const before = await book.list();
    for (const res of [await open(ticker, { price: 1 }), await close(ticker)]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_params', details: [{ field: 'ticker', message: expect.any(String) }] });
    }
    expect(await book.list()).toEqual(before);
  });

  it.each([
    ['a price as a string', { price: '12.5' }],
    ['a zero price', { price: 0 }],
    ['a negative price', { price: -1 }],
    ['a price as an array', { price: [1] }],
    ['an unknown field', { price: 1, ticker: 'OTHER' }],
    ['a body that is an array', [1]],
  ])('refuses %s (400) and opens nothing', async (_name, body) => {
    const res = await open('BADBODY', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_position');
    expect(await book.isOpen('BADBODY')).toBe(false);
  });

  it('refuses a body that is not JSON or too large', async () => {
    const notJson = await request(url).post('/positions/BADBODY/open').set('Authorization', `Bearer ${ADMIN}`).set('Content-Type', 'application/json').send('{"price":');
    expect(notJson.status).toBe(400);
    const large = await open('BADBODY', { price: 1, pad: 'x'.repeat(2000) });
    expect(large.status).toBe(413);
    expect(await book.isOpen('BADBODY')).toBe(false);
  });
});
