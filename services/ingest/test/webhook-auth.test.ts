/**
 * No open webhook by default: ingest refuses to start with neither WEBHOOK_SECRET nor
 * WEBHOOK_ALLOWED_IPS, unless WEBHOOK_AUTH=none says so; then it warns at every start and its
 * /status shows it.
 */
import request from 'supertest';
import IORedis from 'ioredis';
import { ConfigError, createLogger, loadConfig, UNAUTHENTICATED_WEBHOOK_WARNING } from '@tsp/core';
import { startIngest } from '../src/service';
import { uniquePrefix } from '../../../test/support/helpers';

/** A real logger (quiet below errors) whose warnings the test reads. */
function watchedLogger() {
  const logger = createLogger('ingest', 'error');
  return { logger, warn: jest.spyOn(logger, 'warn') };
}

/** The test environment opts every suite out (test/support/env.js); these cases decide for themselves. */
const withoutWebhookAuth = { ...process.env, WEBHOOK_SECRET: '', WEBHOOK_ALLOWED_IPS: '', WEBHOOK_AUTH: '', INGEST_PORT: '0' };

describe('webhook authentication at start-up', () => {
  const prefixes: string[] = [];
  const prefix = (label: string) => {
    prefixes.push(uniquePrefix(label));
    return prefixes[prefixes.length - 1];
  };

  afterAll(async () => {
    const redis = new IORedis(process.env.REDIS_URL!);
    for (const each of prefixes) {
      const keys = await redis.keys(`${each}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('refuses to start with neither WEBHOOK_SECRET nor WEBHOOK_ALLOWED_IPS, saying in one line what to set', async () => {
    const { logger } = watchedLogger();
    const config = loadConfig({ ...withoutWebhookAuth, KEY_PREFIX: prefix('noauth') });
    const error = await startIngest(config, logger).then(
      async (started) => {
        await started.stop();
        return null;
      },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const { message } = error as ConfigError;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^WEBHOOK_SECRET .*recommended/);
    expect(message).toContain('WEBHOOK_ALLOWED_IPS');
    expect(message).toContain('WEBHOOK_AUTH=none');
  });

  it('starts with WEBHOOK_AUTH=none, warns, shows it in /status and takes unauthenticated signals', async () => {
    const { logger, warn } = watchedLogger();
    const ingest = await startIngest(loadConfig({ ...withoutWebhookAuth, KEY_PREFIX: prefix('authnone'), WEBHOOK_AUTH: 'none' }), logger);
    try {
      expect(warn).toHaveBeenCalledWith(UNAUTHENTICATED_WEBHOOK_WARNING);
      const url = `http://127.0.0.1:${ingest.port}`;
      const status = await request(url).get('/status');
      expect(status.body).toMatchObject({ webhook_auth: 'none', warnings: [UNAUTHENTICATED_WEBHOOK_WARNING] });
      expect((await request(url).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy' })).status).toBe(202);
    } finally {
      await ingest.stop();
    }
  });

  it.each([
    ['WEBHOOK_SECRET', { WEBHOOK_SECRET: 'a-secret' }, 'secret'],
    ['WEBHOOK_ALLOWED_IPS', { WEBHOOK_ALLOWED_IPS: 'tradingview' }, 'allowed_ips'],
  ])('starts with %s alone, without the warning', async (_name, env, mode) => {
    const { logger, warn } = watchedLogger();
    const ingest = await startIngest(loadConfig({ ...withoutWebhookAuth, KEY_PREFIX: prefix('authset'), ...env }), logger);
    try {
      expect(warn).not.toHaveBeenCalledWith(UNAUTHENTICATED_WEBHOOK_WARNING);
      const status = await request(`http://127.0.0.1:${ingest.port}`).get('/status');
      expect(status.body).toMatchObject({ webhook_auth: mode, warnings: [] });
    } finally {
      await ingest.stop();
    }
  });
});
