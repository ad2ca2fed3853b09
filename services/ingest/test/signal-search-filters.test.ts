/**
 * GET /signals's console filters (reason, kind) through ingest over a real Postgres: each filter
 * narrows every keyset page, combines with the others, and refuses what is not one of its values.
 */
import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startIngest } from '../src/service';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const ADMIN = 'search-filters-admin-token';
/** Other suites write rows without a deployment, which every deployment sees: look only inside this suite's day. */
const DAY = 'from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z';

interface Item { id: string; kind: string; status: string; reason: string | null; received_at: string }

describe('searching signals by reason and kind', () => {
  const prefix = uniquePrefix('search-filters');
  const pool = createAuditPool(process.env.DATABASE_URL!);
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;
  const count = async (where: string) =>
    (await pool.query(`SELECT count(*)::int AS n FROM signals WHERE (deployment = $1 OR deployment IS NULL)
      AND received_at BETWEEN '2025-03-01T00:00:00Z' AND '2025-03-02T00:00:00Z' AND ${where}`, [prefix])).rows[0].n as number;

  /** Every page of a query, following next_cursor. */
  async function allPages(query: string, limit: number): Promise<{ items: Item[]; pages: number }> {
    const items: Item[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(url).get(`/signals?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`).set('Authorization', `Bearer ${ADMIN}`);
      expect(res.status).toBe(200);
      items.push(...(res.body.items as Item[]));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    return { items, pages };
  }

  beforeAll(async () => {
    // 600 signals over one day, every fifth pair received in the same millisecond (the id breaks the tie).
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, "time", received_at, status, reason, body, updated_at, deployment)
      SELECT gen_random_uuid(), CASE WHEN g % 7 = 0 THEN 'manual' ELSE 'source' END, 'FLT' || (g % 4), 'BUY', 'buy', now(),
             timestamptz '2025-03-01T00:00:00Z' + (g - g % 5 / 4) * interval '1 minute',
             CASE WHEN g % 5 = 0 THEN 'rejected' WHEN g % 5 = 1 THEN 'dead' ELSE 'forwarded' END,
             CASE WHEN g % 5 = 0 THEN (CASE WHEN g % 2 = 0 THEN 'not_in_topn' ELSE 'topn_stale' END) WHEN g % 5 = 1 THEN 'expired' END,
             '{}'::jsonb, now(), $1
      FROM generate_series(1, 600) g`, [prefix]);
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });

  afterAll(async () => {
    await ingest.stop();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [prefix]);
    await pool.end();
    await deletePrefixKeys(prefix);
  });

  it('lists only the signals of one reason, on every page, each once, newest first', async () => {
    const { items, pages } = await allPages(`${DAY}&reason=not_in_topn`, 25);
    expect(items.length).toBe(await count("reason = 'not_in_topn'"));
    expect(pages).toBeGreaterThan(2);
    expect(items.every((s) => s.reason === 'not_in_topn' && s.status === 'rejected')).toBe(true);
    expect(new Set(items.map((s) => s.id)).size).toBe(items.length);
    const keys = items.map((s) => `${s.received_at}|${s.id}`);
    expect([...keys].sort().reverse()).toEqual(keys);
  });

  it('lists a dead reason too', async () => {
    const { items } = await allPages(`${DAY}&reason=expired`, 100);
    expect(items.length).toBe(await count("reason = 'expired'"));
    expect(items.every((s) => s.status === 'dead')).toBe(true);
  });

  it('lists manual exits apart from source signals, and combines kind with status and reason', async () => {
    const manual = await allPages(`${DAY}&kind=manual`, 30);
    expect(manual.items.length).toBe(await count("kind = 'manual'"));
    expect(manual.items.every((s) => s.kind === 'manual')).toBe(true);
    const source = await allPages(`${DAY}&kind=source&status=dead`, 50);
    expect(source.items.length).toBe(await count("kind = 'source' AND status = 'dead'"));
    expect(source.items.every((s) => s.kind === 'source' && s.status === 'dead')).toBe(true);
    const both = await allPages(`${DAY}&kind=source&reason=topn_stale`, 50);
    expect(both.items.length).toBe(await count("kind = 'source' AND reason = 'topn_stale'"));
    expect(both.items.length).toBeGreaterThan(0);
  });

  it('pages the whole day without a filter exactly as one big page would', async () => {
    const paged = await allPages(DAY, 37);
    const whole = await request(url).get(`/signals?${DAY}&limit=500`).set('Authorization', `Bearer ${ADMIN}`);
    const rest = await request(url).get(`/signals?${DAY}&limit=500&cursor=${whole.body.next_cursor}`).set('Authorization', `Bearer ${ADMIN}`);
    expect(paged.items.map((s) => s.id)).toEqual([...whole.body.items, ...rest.body.items].map((s: Item) => s.id));
  });

  it('finds no queued signal with a reason (a signal awaiting its decision has none)', async () => {
    const res = await request(url).get('/signals?status=queued&reason=not_in_topn').set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], next_cursor: null });
  });

  it.each([
    ['an unknown reason', 'reason=lost'],
    ['a reason in upper case', 'reason=NOT_IN_TOPN'],
    ['a reason with a Cyrillic look-alike', `reason=${encodeURIComponent('not_in_t\u043Epn')}`],
    ['a reason with a control character', 'reason=expired%00'],
    ['a reason with a trailing space', 'reason=expired%20'],
    ['a reason given twice', 'reason=expired&reason=stale'],
    ['a reason of 10,000 characters', `reason=${'x'.repeat(10_000)}`],
    ['an empty reason', 'reason='],
    ['a kind that is not source or manual', 'kind=signal'],
    ['a kind with a zero-width space', `kind=${encodeURIComponent('manual\u200B')}`],
    ['a kind given twice', 'kind=manual&kind=source'],
  ])('answers 400 naming the field for %s', async (_name, query) => {
    const res = await request(url).get(`/signals?${query}`).set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_query');
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([query.startsWith('kind') ? 'kind' : 'reason']);
  });

  // A misspelt filter would otherwise list every signal, as if it had matched.
  it.each([
    ['a misspelt filter', 'tickr=AAPL', 'tickr'],
    ['an unknown filter beside a known one', 'ticker=AAPL&symbol=AAPL', 'symbol'],
    ['a filter name in capitals', 'TICKER=AAPL', 'TICKER'],
  ])('answers 400 naming %s', async (_name, query, field) => {
    const res = await request(url).get(`/signals?${query}`).set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_query');
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([field]);
    expect((await request(url).get(`/signals.csv?${query}`).set('Authorization', `Bearer ${ADMIN}`)).status).toBe(400);
  });

  it('refuses the new filters without admin credentials', async () => {
    expect((await request(url).get('/signals?reason=expired')).status).toBe(401);
  });
});
