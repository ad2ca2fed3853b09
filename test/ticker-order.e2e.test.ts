/**
 * What the broker sees is what the trader fired: per-ticker order, exits that wait for their
 * entry, exits that do not expire, exits first behind a backlog, stale entries refused, replays
 * that keep order honest. Real Redis, Postgres and HTTP, several replicas of each worker.
 */
import request from 'supertest';
import { ADMIN, startRelayStack, type RelayStack } from './support/relay-stack';
import { waitFor } from './support/helpers';

/**
 * The destination's requests for these signals came in `order`: each signal's requests (its
 * attempts) in one block, the blocks in that order. A signal never seen is skipped.
 */
function expectInOrder(requests: string[], order: string[]): void {
  const blocks = requests.filter((id, i) => i === 0 || requests[i - 1] !== id);
  expect(new Set(blocks).size).toBe(blocks.length); // no signal's attempts split by another's
  expect(blocks).toEqual(order.filter((id) => blocks.includes(id)));
}

/** This run's name for a ticker: runs share the test database's positions, so no two runs trade the same one. */
const RUN = Math.random().toString(36).slice(2, 6).toUpperCase();
const t = (name: string) => `${name}${RUN}`;

const terminal = (status: string) => ['forwarded', 'rejected', 'dead'].includes(status);

async function settled(stack: RelayStack, id: string, timeoutMs = 20_000) {
  return waitFor(async () => {
    const view = await stack.signal(id);
    return terminal(view.status) ? view : null;
  }, timeoutMs, `signal ${id} to end`);
}

const positions = async (stack: RelayStack) =>
  (await request(stack.ingest).get('/positions').set('Authorization', `Bearer ${ADMIN}`)).body as { ticker: string }[];

describe('per-ticker order across replicas', () => {
  let stack: RelayStack;
  /** While true, the destination fails every signal sent with `"hold": true`. */
  let holding = false;
  beforeAll(async () => {
    stack = await startRelayStack({
      label: 'order', approvers: 2, forwarders: 2,
      // Attempts enough that a held signal keeps retrying (at most a second apart) for as long as a test holds it.
      env: { DEST_WEBHOOK_RATE_LIMITING_ENABLED: 'false', WORKER_CONCURRENCY: '8', FORWARDING_WORKERS: '4', FORWARD_MAX_ATTEMPTS: '100' },
      // Every third request fails once: retries must not let a later signal overtake.
      answer: (req, attempt) => {
        if (holding && req.body.includes('"hold":true')) return { status: 500 };
        return attempt === 1 && req.body.includes('"n":3') ? { status: 500 } : { status: 200, body: '{}' };
      },
    });
    await stack.publishTopn([t('ORDR'), t('OTHR'), t('HELD'), t('FREE')]);
  });
  afterAll(() => stack.stop());

  it('delivers 30 alternating BUY/SELL of one ticker in the order ingest acknowledged them, each SELL after its BUY', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 30; i++) ids.push(await stack.send({ ticker: t('ORDR'), side: i % 2 ? 'buy' : 'sell', n: i % 6 === 3 ? 3 : 0, seq: i }));
    for (const id of ids) await settled(stack, id);
    const views = await Promise.all(ids.map((id) => stack.signal(id)));
    // Each SELL found the position its BUY opened: none lost to a race.
    expect(views.map((v) => v.status)).toEqual(ids.map(() => 'forwarded'));
    expectInOrder(stack.deliveredIds(new Set(ids)), ids);
    expect((await positions(stack)).map((p) => p.ticker)).not.toContain(t('ORDR'));
  });

  it('keeps each ticker in order while tickers never wait on one another', async () => {
    const byTicker: Record<string, string[]> = { [t('ORDR')]: [], [t('OTHR')]: [] };
    const sends = [];
    for (let i = 1; i <= 10; i++) {
      for (const ticker of [t('ORDR'), t('OTHR')]) sends.push({ ticker, side: i % 2 ? 'buy' : 'sell', seq: i });
    }
    for (const body of sends) byTicker[body.ticker].push(await stack.send(body));
    for (const id of Object.values(byTicker).flat()) await settled(stack, id);
    for (const ids of Object.values(byTicker)) expectInOrder(stack.deliveredIds(new Set(ids)), ids);
  });

  it("delivers another ticker's signals while one ticker's head keeps failing, and holds only that ticker's later signal", async () => {
    holding = true;
    const head = await stack.send({ ticker: t('HELD'), side: 'buy', hold: true });
    await waitFor(() => stack.deliveredIds(new Set([head])).length > 0, 20_000, 'the held signal to be tried');
    const behind = await stack.send({ ticker: t('HELD'), side: 'sell' });
    const others: string[] = [];
    for (let i = 1; i <= 4; i++) others.push(await stack.send({ ticker: t('FREE'), side: i % 2 ? 'buy' : 'sell', seq: i }));
    for (const id of others) expect(await settled(stack, id)).toMatchObject({ status: 'forwarded' });
    // All of them went while the held head had not ended, and its ticker's later signal waited behind it.
    expect(terminal((await stack.signal(head)).status)).toBe(false);
    expect(stack.deliveredIds(new Set([behind]))).toEqual([]);
    expectInOrder(stack.deliveredIds(new Set(others)), others);

    holding = false;
    expect(await settled(stack, head)).toMatchObject({ status: 'forwarded' });
    expect(await settled(stack, behind)).toMatchObject({ status: 'forwarded' });
    expectInOrder(stack.deliveredIds(new Set([head, behind])), [head, behind]);
  }, 60_000);
});

describe('exits and their entries', () => {
  let stack: RelayStack;
  /** A ticker's answers for signals that carry no `script` of their own (a manual exit's body is tsp's). */
  const tickerScripts = new Map<string, string>();
  /** Per-signal answers, chosen by each test through the `script` field of its signals (or its ticker's). */
  beforeAll(async () => {
    stack = await startRelayStack({
      label: 'exits', forwarders: 2,
      env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000', SIGNAL_TTL_SEC: '2', FORWARD_MAX_ATTEMPTS: '20', SIGNAL_MAX_LAG_SEC: '60' },
      answer: (req, attempt) => {
        const body = JSON.parse(req.body) as { script?: string; ticker: string };
        const script = body.script ?? tickerScripts.get(body.ticker) ?? '';
        const answers = script ? script.split(',') : [];
        const status = Number(answers[Math.min(attempt, answers.length) - 1] ?? 200);
        return status === 429 ? { status, headers: { 'retry-after': '1' } } : { status, body: '{}' };
      },
    });
    await stack.publishTopn([t('EXIT'), t('DEAD'), t('LATE'), t('MANL'), t('STAL'), t('RPLY'), t('RPL2'), t('RPL3')]);
  });
  afterAll(() => stack.stop());

  it('lets a SELL fired while its BUY is still retrying wait for that BUY, then pass', async () => {
    const buy = await stack.send({ ticker: t('EXIT'), side: 'buy', script: '500,200' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sell = await stack.send({ ticker: t('EXIT'), side: 'sell' });
    expect(await settled(stack, sell)).toMatchObject({ status: 'forwarded', basis: 'open_position' });
    expectInOrder(stack.deliveredIds(new Set([buy, sell])), [buy, sell]);
    expect((await settled(stack, buy)).deliveries).toHaveLength(2);
  });

  it('rejects the SELL with no_open_position when the BUY it waited for ends dead', async () => {
    const buy = await stack.send({ ticker: t('DEAD'), side: 'buy', script: '500,400' });
    const sell = await stack.send({ ticker: t('DEAD'), side: 'sell' });
    expect(await settled(stack, buy)).toMatchObject({ status: 'dead', reason: 'permanent_error' });
    expect(await settled(stack, sell)).toMatchObject({ status: 'rejected', reason: 'no_open_position' });
    expect(stack.deliveredIds(new Set([sell]))).toEqual([]);
  });

  it('never expires an exit of an open position, while an entry in the same straits expires', async () => {
    await settled(stack, await stack.send({ ticker: t('LATE'), side: 'buy' }));
    // The destination fails for longer than SIGNAL_TTL_SEC (2 s): ~3 s of 503s.
    const failures = Array.from({ length: 12 }, () => '503').join(',');
    const exit = await stack.send({ ticker: t('LATE'), side: 'sell', script: `${failures},200` });
    const entry = await stack.send({ ticker: t('LATE'), side: 'buy', script: `${failures},200` });
    expect(await settled(stack, exit, 60_000)).toMatchObject({ status: 'forwarded' });
    expect(await settled(stack, entry, 60_000)).toMatchObject({ status: 'dead', reason: 'expired' });
    const metrics = (await fetch(`${stack.forwarders[0]}/metrics`).then((r) => r.text())) + (await fetch(`${stack.forwarders[1]}/metrics`).then((r) => r.text()));
    expect(metrics).toMatch(/tsp_exits_past_ttl_total\{service="forwarder"\} 1/);
  });

  it('never expires a manual exit (/sell/individual) of an open position either', async () => {
    await settled(stack, await stack.send({ ticker: t('MANL'), side: 'buy' }));
    // From now on the ticker's deliveries fail, a dozen 503s, for longer than SIGNAL_TTL_SEC (2 s).
    tickerScripts.set(t('MANL'), `${Array.from({ length: 12 }, () => '503').join(',')},200`);
    const pastTtl = () => Promise.all(stack.forwarders.map(async (url) => {
      const line = /^tsp_exits_past_ttl_total\{service="forwarder"\} (\d+)$/m.exec(await fetch(`${url}/metrics`).then((r) => r.text()));
      return Number(line?.[1] ?? 0);
    })).then((counts) => counts.reduce((a, b) => a + b, 0));
    const before = await pastTtl();
    const sold = await request(stack.ingest).post('/sell/individual').send({ ticker: t('MANL'), token: ADMIN });
    expect(sold.status).toBe(202);
    const [exit] = sold.body.ids as string[];
    expect(await settled(stack, exit, 60_000)).toMatchObject({ kind: 'manual', side: 'SELL', status: 'forwarded', basis: 'manual' });
    // It was delivered older than SIGNAL_TTL_SEC (metrics are computed at most once a second), after
    // every failed attempt, and closed the position.
    await waitFor(async () => (await pastTtl()) === before + 1, 5000, 'the exit counted as delivered past SIGNAL_TTL_SEC');
    expect(stack.deliveredIds(new Set([exit]))).toHaveLength(13);
    expect((await positions(stack)).map((p) => p.ticker)).not.toContain(t('MANL'));
  });

  it('answers a stale entry 202, records it rejected stale, never sends it; an exit is never refused for lag', async () => {
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    const stale = await stack.send({ ticker: t('STAL'), side: 'buy', time: tenMinutesAgo });
    expect(await settled(stack, stale)).toMatchObject({ status: 'rejected', reason: 'stale' });
    // The alert's own max_lag overrides SIGNAL_MAX_LAG_SEC; an alert without a time is not judged.
    const allowed = await stack.send({ ticker: t('STAL'), side: 'buy', time: tenMinutesAgo, max_lag: '900' });
    expect(await settled(stack, allowed)).toMatchObject({ status: 'forwarded' });
    const oldExit = await stack.send({ ticker: t('STAL'), side: 'sell', time: tenMinutesAgo });
    expect(await settled(stack, oldExit)).toMatchObject({ status: 'forwarded' });
    const untimed = await stack.send({ ticker: t('STAL'), side: 'buy', max_lag: 1 });
    expect(await settled(stack, untimed)).toMatchObject({ status: 'forwarded' });
    expect(stack.deliveredIds(new Set([stale]))).toEqual([]);
    expect((await request(stack.ingest).get('/status')).body.signal_max_lag_sec).toBe(60);
  });

  it('refuses to replay a dead entry after a later signal of its ticker was delivered, unless forced', async () => {
    const dead = await stack.send({ ticker: t('RPLY'), side: 'buy', script: '400,200' });
    expect(await settled(stack, dead)).toMatchObject({ status: 'dead' });
    const later = await stack.send({ ticker: t('RPLY'), side: 'buy' });
    await settled(stack, later);
    const refused = await request(stack.ingest).post(`/admin/dead/${dead}/replay`).set('Authorization', `Bearer ${ADMIN}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'out_of_order', details: [{ later_signal_id: later }] });
    expect(refused.body.message).toContain(later);
    const all = await request(stack.ingest).post('/admin/dead/replay-all').set('Authorization', `Bearer ${ADMIN}`);
    expect(all.body.skipped).toContainEqual({ id: dead, reason: 'out_of_order', later_signal_id: later });

    const forced = await request(stack.ingest).post(`/admin/dead/${dead}/replay?force=true`).set('Authorization', `Bearer ${ADMIN}`);
    expect(forced.status).toBe(202);
    expect(await settled(stack, dead)).toMatchObject({ status: 'forwarded' });
  });

  it('replays a ticker\'s dead signals in the order they were received, and one alone not ahead of an earlier dead one', async () => {
    // The destination refused both (a wrong URL, say); the second died last, so it is listed first.
    const buy = await stack.send({ ticker: t('RPL3'), side: 'buy', script: '401,200' });
    await settled(stack, buy);
    const sell = await stack.send({ ticker: t('RPL3'), side: 'buy', qty: 2, script: '401,200' });
    expect(await settled(stack, sell)).toMatchObject({ status: 'dead' });
    const alone = await request(stack.ingest).post(`/admin/dead/${sell}/replay`).set('Authorization', `Bearer ${ADMIN}`);
    expect(alone.status).toBe(409);
    expect(alone.body.details).toEqual([{ earlier_signal_id: buy }]);
    const all = await request(stack.ingest).post('/admin/dead/replay-all').set('Authorization', `Bearer ${ADMIN}`);
    expect(all.body.ids).toEqual(expect.arrayContaining([buy, sell]));
    expect(all.body.ids.indexOf(buy)).toBeLessThan(all.body.ids.indexOf(sell));
    expect(await settled(stack, sell)).toMatchObject({ status: 'forwarded' });
    const attempts = stack.deliveredIds(new Set([buy, sell]));
    // Both died at their first attempt, then the replays went in the same order.
    expect(attempts).toEqual([buy, sell, buy, sell]);
  });

  it('replays a dead entry with no later delivery at the end of its ticker\'s order', async () => {
    const dead = await stack.send({ ticker: t('RPL2'), side: 'buy', script: '400,200' });
    expect(await settled(stack, dead)).toMatchObject({ status: 'dead' });
    const replay = await request(stack.forwarders[0]).post(`/admin/dead/${dead}/replay`).set('Authorization', `Bearer ${ADMIN}`);
    expect(replay.status).toBe(202);
    expect(await settled(stack, dead)).toMatchObject({ status: 'forwarded' });
  });
});

describe('risk comes off first', () => {
  let stack: RelayStack;
  const entries = Array.from({ length: 100 }, (_, i) => `E${String(i).padStart(3, '0')}${RUN}`);
  const held = [t('HLDA'), t('HLDB'), t('HLDC'), t('HLDD'), t('HLDE')];
  beforeAll(async () => {
    stack = await startRelayStack({ label: 'risk', env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: '600', FORWARDING_WORKERS: '5', SIGNAL_TTL_SEC: '120' } });
    await stack.publishTopn([...held, ...entries]);
  });
  afterAll(() => stack.stop());

  it('sends the exits of open positions ahead of a backlog of entries, within the next slots', async () => {
    for (const ticker of held) await settled(stack, await stack.send({ ticker, side: 'buy' }));
    const entryIds = [];
    for (const ticker of entries) entryIds.push(await stack.send({ ticker, side: 'buy' }));
    await waitFor(async () => (await request(stack.ingest).get('/status')).body.rate_limiter.backlog > 50, 10_000, 'a backlog');
    const before = stack.destination.received.length;
    const exitIds = [];
    for (const ticker of held) exitIds.push(await stack.send({ ticker, side: 'sell' }));
    for (const id of exitIds) await settled(stack, id, 30_000);
    const after = stack.deliveredIds().slice(before);
    const lastExit = Math.max(...exitIds.map((id) => after.indexOf(id)));
    // Ahead of them only the deliveries already holding a worker slot (5) and a few started meanwhile.
    expect(lastExit).toBeLessThan(5 + exitIds.length + 5);
    expect(after.length).toBeLessThan(entryIds.length);

    const status = (await request(stack.ingest).get('/status')).body.rate_limiter;
    expect(status).toMatchObject({ enabled: true, max_per_min: 600, max_per_hour: 500 });
    expect(Date.parse(status.next_start_at)).not.toBeNaN();
    expect(Date.parse(status.clears_at)).toBeGreaterThanOrEqual(Date.parse(status.next_start_at));
  });
});
