import { randomUUID } from 'node:crypto';
import { createAuditPool, searchSignals, signalPages } from '../src';

describe('searching signals in keyset pages', () => {
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const deployment = `test-search-${randomUUID().slice(0, 8)}`;
  const TOTAL = 2500;
  // Other suites write rows without a deployment, which every deployment sees: look only at this suite's hour.
  const hour = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-01T01:00:00Z') };
  const ticker = (n: number) => `S${deployment.slice(-4).toUpperCase()}${n}`;

  beforeAll(async () => {
    // Every tenth pair shares a received_at, so the id has to break ties without skipping or repeating.
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, "time", received_at, status, body, updated_at, deployment)
      SELECT gen_random_uuid(), 'source', $3 || (g % 3), 'BUY', 'buy', now(), timestamptz '2026-11-01T00:00:00Z' + (g / 2) * interval '1 second',
             'forwarded', '{}'::jsonb, now(), $1
      FROM generate_series(1, $2::int) g`, [deployment, TOTAL, ticker(0).slice(0, -1)]);
  });

  afterAll(async () => {
    await pool.query('DELETE FROM signals WHERE deployment = $1', [deployment]);
    await pool.end();
  });

  it('yields every matching signal once, newest first, never more than a page at a time', async () => {
    const pageSizes: number[] = [];
    const seen: { id: string; received_at: string }[] = [];
    for await (const page of signalPages(pool, deployment, hour, 1000)) {
      pageSizes.push(page.length);
      seen.push(...page);
    }
    expect(pageSizes).toEqual([1000, 1000, 500]);
    expect(new Set(seen.map((s) => s.id)).size).toBe(TOTAL);
    const keys = seen.map((s) => `${s.received_at}|${s.id}`);
    expect([...keys].sort().reverse()).toEqual(keys);
  });

  it('applies the filter to every page', async () => {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM signals WHERE (deployment = $1 OR deployment IS NULL) AND ticker = $2', [deployment, ticker(1)]);
    expect(rows[0].n).toBeGreaterThan(800);
    let count = 0;
    for await (const page of signalPages(pool, deployment, { ticker: ticker(1) }, 300)) {
      expect(page.every((s) => s.ticker === ticker(1))).toBe(true);
      count += page.length;
    }
    expect(count).toBe(rows[0].n);
  });

  it('ends with a null cursor on the last page, and an empty result for no match', async () => {
    const last = await searchSignals(pool, deployment, hour, { limit: TOTAL });
    expect(last.views).toHaveLength(TOTAL);
    expect(last.next).toBeNull();
    const pages = [];
    for await (const page of signalPages(pool, deployment, { ticker: 'NONE' }, 100)) pages.push(page);
    expect(pages).toEqual([]);
  });
});
