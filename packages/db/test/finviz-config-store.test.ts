/**
 * The one owner of finviz_config and its audit: versioned updates audited in the same
 * transaction, a one-time import that only its first writer makes, and never a credential in the
 * audit (a Finviz Elite URL carries its API token in `auth=`).
 */
import { randomUUID } from 'node:crypto';
import { createPrisma, FinvizConfigStore } from '../src';

const SECRET = 'elite-api-token-in-audit';
const ENVIRONMENT = { url: 'https://finviz.com/screener.ashx?v=111&o=-change', top_n: 15, refresh: 10 };
const who = (actor: string) => ({ actor, ip: '203.0.113.4', userAgent: 'curl/8' });

describe('the Finviz config store', () => {
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const deployments: string[] = [];
  const storeOf = () => {
    const deployment = `test-fvstore-${randomUUID().slice(0, 8)}`;
    deployments.push(deployment);
    return { deployment, store: new FinvizConfigStore(prisma, deployment) };
  };

  afterAll(async () => {
    await prisma.finvizConfigAudit.deleteMany({ where: { deployment: { in: deployments } } });
    await prisma.finvizConfig.deleteMany({ where: { deployment: { in: deployments } } });
    await prisma.$disconnect();
  });

  it('reads nothing before the first change', async () => {
    expect(await storeOf().store.read()).toBeNull();
  });

  it('stores a change over the environment\'s values with its audit row: who, from where, before and after, credentials masked', async () => {
    const { deployment, store } = storeOf();
    const eliteUrl = `https://elite.finviz.com/export.ashx?v=111&f=ta_gap_u5&auth=${SECRET}`;
    const first = await store.update({ url: eliteUrl }, ENVIRONMENT, who('FINVIZ_UPDATE_TOKEN'));
    expect(first).toMatchObject({ url: eliteUrl, top_n: 15, refresh: 10, version: 1, updated_by: 'FINVIZ_UPDATE_TOKEN' });
    const second = await store.update({ top_n: 3 }, ENVIRONMENT, who('ADMIN_TOKEN'));
    expect(second).toMatchObject({ url: eliteUrl, top_n: 3, version: 2 });
    // The screener needs the token to export: the config keeps it, the audit never does.
    expect(await store.read()).toMatchObject({ url: eliteUrl, version: 2 });

    const audit = await prisma.finvizConfigAudit.findMany({ where: { deployment }, orderBy: { id: 'asc' } });
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ actor: 'FINVIZ_UPDATE_TOKEN', ip: '203.0.113.4', userAgent: 'curl/8', before: null });
    expect(audit[0].after).toEqual({ url: 'https://elite.finviz.com/export.ashx?v=111&f=ta_gap_u5&auth=***', top_n: 15, refresh: 10 });
    expect(audit[1]).toMatchObject({ actor: 'ADMIN_TOKEN', before: { top_n: 15 }, after: { top_n: 3 } });
    expect(JSON.stringify(audit.map((row) => [row.before, row.after]))).not.toContain(SECRET);
  });

  it('serialises concurrent updates by version: each one is applied and audited once', async () => {
    const { deployment, store } = storeOf();
    const results = await Promise.all([1, 2, 3, 4].map((topN) => store.update({ top_n: topN }, ENVIRONMENT, who(`writer-${topN}`))));
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3, 4]);
    const last = results.find((r) => r.version === 4)!;
    expect(await store.read()).toMatchObject({ top_n: last.top_n, version: 4 });
    expect(await prisma.finvizConfigAudit.count({ where: { deployment } })).toBe(4);
  });

  it('imports once: of replicas importing together the first wins, and only it is audited', async () => {
    const { deployment, store } = storeOf();
    const file = { url: `https://elite.finviz.com/export.ashx?v=111&auth=${SECRET}`, top_n: 7, refresh: 30 };
    const imports = await Promise.all([1, 2, 3].map(() => store.importOnce(file, { actor: 'import:finviz_config.json', ip: null, userAgent: null })));
    expect(imports.filter((stored) => stored !== null)).toHaveLength(1);
    expect(await store.read()).toMatchObject({ ...file, version: 1, updated_by: 'import:finviz_config.json' });
    const audit = await prisma.finvizConfigAudit.findMany({ where: { deployment } });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0].after)).not.toContain(SECRET);

    // A later import finds the config stored and writes nothing.
    expect(await store.importOnce({ ...file, top_n: 2 }, { actor: 'import:finviz_config.json', ip: null, userAgent: null })).toBeNull();
    expect(await store.read()).toMatchObject({ top_n: 7, version: 1 });
  });
});
