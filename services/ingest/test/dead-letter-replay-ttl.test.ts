/**
 * Replaying a dead letter older than SIGNAL_TTL_SEC would send an old trade: it takes force. Dead
 * rows are written straight into Postgres (as the forwarder's audit trail leaves them), replayed
 * through ingest onto the real forward queue, and each replay is an admin action.
 */
import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startIngest } from '../src/service';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const ADMIN = 'replay-ttl-admin-token';
const TTL_SEC = 600;

describe('replaying a dead letter past SIGNAL_TTL_SEC', () => {
  const prefix = uniquePrefix('replay-ttl');
  const redis = new IORedis(process.env.REDIS_URL!);
  const pool = createAuditPool(process.env.DATABASE_URL!);
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;

  beforeAll(async () => {
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN, SIGNAL_TTL_SEC: String(TTL_SEC) }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });

  afterAll(async () => {
    await ingest.stop();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM admin_actions WHERE deployment = $1', [prefix]);
    await pool.end();
    await deletePrefixKeys(prefix);
    redis.disconnect();
  });

  /** A dead BUY of its own ticker, received `ageSec` ago. */
  async function deadSignal(ageSec: number): Promise<string> {
    const id = randomUUID();
    const ticker = `T${id.slice(0, 5)}`.toUpperCase();
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, "time", received_at, status, reason, basis, body, updated_at, deployment)
      VALUES ($1, 'source', $2, 'BUY', 'buy', now() - make_interval(secs => $3), now() - make_interval(secs => $3), 'dead', 'attempts_exhausted', 'topn',
              jsonb_build_object('ticker', $2::text, 'side', 'BUY'), now(), $4)`, [id, ticker, ageSec, prefix]);
    return id;
  }
  const status = async (id: string) => (await pool.query('SELECT status FROM signals WHERE id = $1', [id])).rows[0].status;
  const queued = async (id: string) => (await redis.exists(`${prefix}:forward:${id}`)) === 1;
  const replay = (id: string, query = '') => request(url).post(`/admin/dead/${id}/replay${query}`).set('Authorization', `Bearer ${ADMIN}`);

  it('replays a dead letter inside the TTL without force', async () => {
    const id = await deadSignal(60);
    const res = await replay(id);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id, status: 'approved', force: false, was: { status: 'dead', reason: 'attempts_exhausted' } });
    expect(await queued(id)).toBe(true);
  });

  it('answers 409 past_ttl naming the age and the TTL, and sends nothing', async () => {
    const id = await deadSignal(3600);
    const res = await replay(id);
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('past_ttl');
    expect(res.body.message).toMatch(/received 36\d\d s ago, longer than SIGNAL_TTL_SEC \(600 s\).*"force": true/);
    expect(res.body.details).toEqual([{ age_sec: expect.any(Number), ttl_sec: TTL_SEC }]);
    expect(await status(id)).toBe('dead');
    expect(await queued(id)).toBe(false);
  });

  it('replays it with {"force": true}, or with force=true', async () => {
    const byBody = await deadSignal(3600);
    const res = await replay(byBody).send({ force: true });
    expect(res.status).toBe(202);
    expect(res.body.force).toBe(true);
    expect(await status(byBody)).toBe('approved');
    expect(await queued(byBody)).toBe(true);

    const byQuery = await deadSignal(7200);
    expect((await replay(byQuery, '?force=true')).status).toBe(202);
    expect(await queued(byQuery)).toBe(true);
  });

  it('leaves old dead letters to replay-all\'s skipped list', async () => {
    const old = await deadSignal(5000);
    const res = await request(url).post('/admin/dead/replay-all').set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(202);
    expect(res.body.skipped).toContainEqual({ id: old, reason: 'past_ttl' });
    expect(res.body.ids).not.toContain(old);
    expect(await status(old)).toBe('dead');
  });

  it('logs each replay as an admin action, with the signal before and after', async () => {
    const rows = (await request(url).get('/admin/actions?action=dead_letter.replay').set('Authorization', `Bearer ${ADMIN}`)).body.items;
    expect(rows.map((r: { outcome: string }) => r.outcome)).toEqual(['done', 'done', 'refused', 'done']);
    expect(rows[0]).toMatchObject({ token_kind: 'admin_token', before: { status: 'dead', reason: 'attempts_exhausted' }, after: { status: 'approved', force: true } });
    expect(rows[2]).toMatchObject({ http_status: 409, after: null });
    const all = (await request(url).get('/admin/actions?action=dead_letter.replay_all').set('Authorization', `Bearer ${ADMIN}`)).body.items;
    expect(all[0]).toMatchObject({ outcome: 'done', after: { skipped: expect.arrayContaining([expect.objectContaining({ reason: 'past_ttl' })]) } });
  });

  it.each([
    ['force as a string', { force: 'true' }],
    ['force as a number', { force: 1 }],
    ['force as null', { force: null }],
    ['an unknown field', { force: true, why: 'x' }],
    ['a body that is an array', [true]],
  ])('refuses %s (400) and replays nothing', async (_name, body) => {
    const id = await deadSignal(3600);
    const res = await replay(id).send(body);
    expect(res.status).toBe(400);
    expect(await status(id)).toBe('dead');
  });

  it.each([['force=yes', '?force=yes'], ['force=TRUE', '?force=TRUE'], ['force=1', '?force=1']])('refuses the query %s (400)', async (_name, query) => {
    const id = await deadSignal(3600);
    const res = await replay(id, query);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_query');
    expect(await status(id)).toBe('dead');
  });
});
