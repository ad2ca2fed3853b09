/**
 * WEBHOOK_ALLOWED_IPS judges the sender's address. X-Forwarded-For names it only when TRUST_PROXY
 * believes the proxy that sent it: otherwise any client could claim to be TradingView.
 */
import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { startIngest } from '../src/service';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const TRADINGVIEW = '52.89.214.238';
const signal = { ticker: 'AAPL', side: 'buy' };

describe.each([
  // [TRUST_PROXY, is the forwarded address judged (else the connecting 127.0.0.1 is)]
  ['', false],
  ['10.0.0.0/8', false],
  ['1', true],
  ['127.0.0.1/32', true],
])('TRUST_PROXY=%p, WEBHOOK_ALLOWED_IPS=tradingview', (trustProxy, believesForwarded) => {
  const prefix = uniquePrefix('sender');
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', WEBHOOK_SECRET: '', WEBHOOK_AUTH: '',
      WEBHOOK_ALLOWED_IPS: 'tradingview', TRUST_PROXY: trustProxy,
    });
    ingest = await startIngest(config, createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });

  afterAll(async () => {
    await ingest.stop();
    await deletePrefixKeys(prefix);
  });

  it('refuses a sender outside the list, by its connecting address', async () => {
    const res = await request(url).post('/webhook/in').send(signal);
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('127.0.0.1');
  });

  it('refuses a sender outside the list before reading its body (no parser messages for strangers)', async () => {
    const res = await request(url).post('/webhook/in').set('Content-Type', 'text/plain').send('{"not json');
    expect(res.status).toBe(403);
  });

  it(believesForwarded ? 'judges the address the proxy forwards' : 'ignores X-Forwarded-For and judges 127.0.0.1', async () => {
    const res = await request(url).post('/webhook/in').set('X-Forwarded-For', TRADINGVIEW).send(signal);
    if (believesForwarded) {
      expect(res.status).toBe(202);
    } else {
      expect(res.status).toBe(403);
      expect(res.body.message).toContain('127.0.0.1');
      expect(res.body.message).not.toContain(TRADINGVIEW);
    }
  });

  it('refuses a forwarded address outside the list', async () => {
    const res = await request(url).post('/webhook/in').set('X-Forwarded-For', '203.0.113.9').send(signal);
    expect(res.status).toBe(403);
    expect(res.body.message).toContain(believesForwarded ? '203.0.113.9' : '127.0.0.1');
  });
});

describe('WEBHOOK_ALLOWED_IPS=127.0.0.1 on a dual-stack socket', () => {
  const prefix = uniquePrefix('sender-mapped');
  let ingest: Awaited<ReturnType<typeof startIngest>>;

  beforeAll(async () => {
    const config = loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', WEBHOOK_SECRET: '', WEBHOOK_AUTH: '', WEBHOOK_ALLOWED_IPS: '127.0.0.1' });
    ingest = await startIngest(config, createLogger('ingest', 'error'));
  });

  afterAll(async () => {
    await ingest.stop();
    await deletePrefixKeys(prefix);
  });

  it('admits an IPv4 sender the socket reports as ::ffff:127.0.0.1', async () => {
    expect((await request(`http://127.0.0.1:${ingest.port}`).post('/webhook/in').send(signal)).status).toBe(202);
  });
});
