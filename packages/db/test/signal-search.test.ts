import { randomUUID } from 'node:crypto';
import { createAuditPool, createPrisma, searchSignals, signalPages } from '../src';

describe('searching signals in keyset pages', () => {
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const deployment = `test-search-${randomUUID().slice(0, 8)}`;
  const TOTAL = 2500;

  beforeAll(async () => {
    // Every tenth pair shares a received_at, so the id has to break ties without skipping or repeating.
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, "time", received_at, status, body, updated_at, deployment)
      SELECT gen_random_uuid(), 'source', 'SRCH' || (g % 3), 'BUY', 'buy', now(), timestamptz '2026-11-01T00:00:00Z' + (g / 2) * interval '1 second',
             'forwarded', '{}'::jsonb, now(), $1
      FROM generate_series(1, $2::int) g`, [deployment, TOTAL]);
  });

  afterAll(async () => {
    await pool.query('DELETE FROM signals WHERE deployment = $1', [deployment]);
    await prisma.$disconnect();
    await pool.end();
  });

  it('yields every matching signal once, newest first, never more than a page at a time', async () => {
    const pageSizes: number[] = [];
    const seen: { id: string; received_at: string }[] = [];
    for await (const page of signalPages(prisma, deployment, {}, 1000)) {
      pageSizes.push(page.length);
      seen.push(...page);
    }
    expect(pageSizes).toEqual([1000, 1000, 500]);
    expect(new Set(seen.map((s) => s.id)).size).toBe(TOTAL);
    const keys = seen.map((s) => `${s.received_at}|${s.id}`);
    expect([...keys].sort().reverse()).toEqual(keys);
  });

  it('applies the filter to every page', async () => {
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM signals WHERE deployment = $1 AND ticker = 'SRCH1'", [deployment]);
    let count = 0;
    for await (const page of signalPages(prisma, deployment, { ticker: 'SRCH1' }, 300)) {
      expect(page.every((s) => s.ticker === 'SRCH1')).toBe(true);
      count += page.length;
    }
    expect(count).toBe(rows[0].n);
  });

  it('ends with a null cursor on the last page, and an empty result for no match', async () => {
    const last = await searchSignals(prisma, deployment, {}, { limit: TOTAL });
    expect(last.views).toHaveLength(TOTAL);
    expect(last.next).toBeNull();
    const pages = [];
    for await (const page of signalPages(prisma, deployment, { ticker: 'NONE' }, 100)) pages.push(page);
    expect(pages).toEqual([]);
  });
});
