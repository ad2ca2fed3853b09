/** Users of the old system keep their finviz_config.json: imported once, then Postgres holds the config. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import IORedis from 'ioredis';
import { ConfigError, createLogger, loadConfig, readTopnSet } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { startScreener } from '../src/service';
import { fixturePage, fixtureTickers } from './fixtures';

const PAGE = 'finviz-screener-v111-2023.html';

describe('importing finviz_config.json', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsp-import-'));
  const file = path.join(dir, 'finviz_config.json');
  const prefixes: string[] = [];
  let finviz: LocalServer;

  beforeAll(async () => {
    finviz = await startLocalServer(() => ({ status: 200, body: fixturePage(PAGE), headers: { 'content-type': 'text/html' } }));
  });

  afterAll(async () => {
    await finviz.close();
    await prisma.finvizConfigAudit.deleteMany({ where: { deployment: { in: prefixes } } });
    await prisma.finvizConfig.deleteMany({ where: { deployment: { in: prefixes } } });
    await prisma.topnSnapshot.deleteMany({ where: { deployment: { in: prefixes } } });
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    await prisma.$disconnect();
    redis.disconnect();
  });

  const config = (prefix: string) =>
    loadConfig({
      ...process.env, KEY_PREFIX: prefix, SCREENER_PORT: '0', FINVIZ_CONFIG_FILE: file, FINVIZ_PAGE_DELAY_MS: '0',
      FINVIZ_URL: 'https://finviz.com/screener.ashx?v=111', TOP_N: '15', FINVIZ_REFRESH_SEC: '3600',
      FINVIZ_ALLOWED_HOSTS: `finviz.com,127.0.0.1:${finviz.port}`,
    });

  it('stores the file\'s config when none is stored, and uses it; the stored config wins afterwards', async () => {
    const prefix = uniquePrefix('import');
    prefixes.push(prefix);
    fs.writeFileSync(file, JSON.stringify({ url: `${finviz.url}/screener.ashx?v=111&s=ta_topgainers`, top_n: 7, refresh: 3000 }));
    const first = await startScreener(config(prefix), createLogger('screener', process.env.LOG_LEVEL));
    try {
      const set = await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the Top-N set');
      expect(set.tickers).toEqual(fixtureTickers()[PAGE].slice(0, 7));
      const status = await jsonOf<Record<string, unknown>>(fetch(`http://127.0.0.1:${first.port}/status`));
      expect(status).toMatchObject({ top_n: 7, refresh_sec: 3000, config: { source: 'database', version: 1, updated_by: 'import:finviz_config.json' } });
      expect(await prisma.finvizConfigAudit.count({ where: { deployment: prefix, actor: 'import:finviz_config.json' } })).toBe(1);
    } finally {
      await first.stop();
    }

    // A changed file is not imported again: Postgres holds the config now.
    fs.writeFileSync(file, JSON.stringify({ top_n: 2 }));
    const second = await startScreener(config(prefix), createLogger('screener', process.env.LOG_LEVEL));
    try {
      const status = await jsonOf<Record<string, unknown>>(fetch(`http://127.0.0.1:${second.port}/status`));
      expect(status).toMatchObject({ top_n: 7, config: { version: 1 } });
    } finally {
      await second.stop();
    }
  });

  it('keeps the URL\'s token out of the audit and /status: only the stored config holds it', async () => {
    const prefix = uniquePrefix('import-secret');
    prefixes.push(prefix);
    const secret = 'SECRET-elite-token-7f3a';
    const url = `${finviz.url}/screener.ashx?v=111&s=ta_topgainers&auth=${secret}`;
    fs.writeFileSync(file, JSON.stringify({ url, top_n: 4 }));
    const screener = await startScreener(config(prefix), createLogger('screener', process.env.LOG_LEVEL));
    try {
      const status = await (await fetch(`http://127.0.0.1:${screener.port}/status`)).text();
      expect(status).toContain('auth=***');
      expect(status).not.toContain(secret);
    } finally {
      await screener.stop();
    }
    const audit = await prisma.finvizConfigAudit.findMany({ where: { deployment: prefix } });
    expect(audit).toHaveLength(1);
    expect(audit[0].after).toMatchObject({ url: `${finviz.url}/screener.ashx?v=111&s=ta_topgainers&auth=***`, top_n: 4 });
    expect(JSON.stringify(audit.map(({ id: _id, ...row }) => row))).not.toContain(secret);
    // The screener needs the token to fetch: the config itself keeps it.
    expect((await prisma.finvizConfig.findUnique({ where: { deployment: prefix } }))?.url).toBe(url);
  });

  it('refuses to start on a file that is not a valid config, naming FINVIZ_CONFIG_FILE', async () => {
    const prefix = uniquePrefix('import-bad');
    prefixes.push(prefix);
    fs.writeFileSync(file, JSON.stringify({ url: 'http://169.254.169.254/latest/meta-data/', top_n: 5 }));
    const error = await startScreener(config(prefix), createLogger('screener', process.env.LOG_LEVEL)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^FINVIZ_CONFIG_FILE .*url/);
    expect(await prisma.finvizConfig.findUnique({ where: { deployment: prefix } })).toBeNull();
  });
});
