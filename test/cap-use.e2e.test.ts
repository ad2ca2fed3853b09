/**
 * GET /admin/delivery/cap-use (the console's cap-use figure) against real deliveries: ingest,
 * approvers and two forwarders on real Redis and Postgres, a local destination. The figure must be
 * the number of requests the destination received (first tries and retries), against the cap in force.
 */
import request from 'supertest';
import { ADMIN, startRelayStack, type RelayStack } from './support/relay-stack';
import { waitFor } from './support/helpers';

/** This run's tickers: runs share the test database's positions. */
const RUN = Math.random().toString(36).slice(2, 6).toUpperCase();
const t = (name: string) => `${name}${RUN}`;

interface CapUse {
  enabled: boolean;
  at: string;
  minute: { used: number; cap: number; window_sec: number };
  hour: { used: number; cap: number; window_sec: number };
}

describe('the use of the rate cap, as the console shows it', () => {
  let stack: RelayStack;
  const capUse = async () => {
    const res = await request(stack.ingest).get('/admin/delivery/cap-use').set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(200);
    return res.body as CapUse;
  };

  beforeAll(async () => {
    stack = await startRelayStack({
      label: 'capuse', forwarders: 2,
      env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: '600', DEST_WEBHOOK_MAX_REQ_PER_HOUR: '1000' },
      // The signal marked "retry" fails once: its retry is a start too.
      answer: (req, attempt) => (attempt === 1 && req.body.includes('"retry"') ? { status: 503 } : { status: 200, body: '{}' }),
    });
    await stack.publishTopn([t('CAPA'), t('CAPB'), t('CAPC')]);
  });
  afterAll(() => stack.stop());

  it('refuses without the admin token (401)', async () => {
    expect((await request(stack.ingest).get('/admin/delivery/cap-use')).status).toBe(401);
    expect((await request(stack.ingest).get('/admin/delivery/cap-use').set('Authorization', 'Bearer wrong')).status).toBe(401);
  });

  it('says nothing is used before any delivery', async () => {
    expect(await capUse()).toMatchObject({ enabled: true, minute: { used: 0, cap: 600, window_sec: 61 }, hour: { used: 0, cap: 1000, window_sec: 3601 } });
  });

  it('counts every request started in the minute and the hour, across forwarder replicas, retries included', async () => {
    const ids = [
      await stack.send({ ticker: t('CAPA'), side: 'buy' }),
      await stack.send({ ticker: t('CAPB'), side: 'buy', note: 'retry' }),
      await stack.send({ ticker: t('CAPC'), side: 'buy' }),
    ];
    for (const id of ids) await waitFor(async () => (await stack.signal(id)).status === 'forwarded', 20_000, `signal ${id} delivered`);
    const requests = stack.destination.received.length;
    expect(requests).toBe(ids.length + 1);
    const use = await capUse();
    expect(use.minute).toEqual({ used: requests, cap: 600, window_sec: 61 });
    expect(use.hour).toEqual({ used: requests, cap: 1000, window_sec: 3601 });
  });

  it('shows a cap set at runtime on the forwarder, and says when limiting is switched off', async () => {
    const set = await request(stack.forwarders[0]).post('/admin/rate-limit').set('Authorization', `Bearer ${ADMIN}`).send({ max_per_minute: 30 });
    expect(set.status).toBe(200);
    expect((await capUse()).minute.cap).toBe(30);
    const off = await request(stack.forwarders[0]).post('/admin/rate-limit').set('Authorization', `Bearer ${ADMIN}`).send({ enabled: false });
    expect(off.status).toBe(200);
    expect((await capUse()).enabled).toBe(false);
  });
});
