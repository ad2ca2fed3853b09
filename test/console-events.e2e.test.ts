/**
 * GET /admin/events, the console's live feed, end to end: the relay on real Redis, Postgres and
 * HTTP, two ingest replicas, and an SSE client reading the stream as a browser's EventSource would.
 */
import request from 'supertest';
import { createLogger, loadConfig, type SignalChange } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startIngest } from '../services/ingest/src/service';
import { ADMIN, startRelayStack, type RelayStack } from './support/relay-stack';
import { deletePrefixKeys, waitFor } from './support/helpers';
import { openSse, type SseConnection, type SseEvent } from './support/sse-client';

type Ingest = Awaited<ReturnType<typeof startIngest>>;
const BEARER = { Authorization: `Bearer ${ADMIN}` };

/** Every change the `signals` events of a connection carry. */
function changesOf(events: SseEvent[]): (SignalChange & { eventId: string })[] {
  return events.filter((e) => e.event === 'signals').flatMap((e) => (JSON.parse(e.data) as SignalChange[]).map((c) => ({ ...c, eventId: e.id! })));
}

const statusesOf = (connection: SseConnection, id: string) => changesOf(connection.events).filter((c) => c.id === id).map((c) => c.status);

describe('the live feed of signal changes', () => {
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const logger = createLogger('events', 'error');
  let stack: RelayStack;
  /** A second ingest replica: the feed must show what the first one accepted. */
  let replica: Ingest;
  const replicas: Ingest[] = [];
  const connections: SseConnection[] = [];
  const replicaConfig = (extra: Record<string, string> = {}) =>
    loadConfig({ ...process.env, KEY_PREFIX: stack.prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN, WEBHOOK_AUTH: 'none', ...extra });
  const startReplica = async (extra?: Record<string, string>) => {
    const started = await startIngest(replicaConfig(extra), logger);
    replicas.push(started);
    return started;
  };
  const feed = async (ingest: Ingest, headers: Record<string, string> = BEARER, query = '') => {
    const connection = await openSse(`http://127.0.0.1:${ingest.port}/admin/events${query}`, headers);
    connections.push(connection);
    return connection;
  };
  const hello = (connection: SseConnection) => connection.waitForEvent((e) => e.event === 'hello');

  beforeAll(async () => {
    stack = await startRelayStack({ label: 'events' });
    await stack.publishTopn(['EVTA', 'EVTB', 'EVTC']);
    replica = await startReplica();
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    for (const started of replicas) await started.stop();
    await stack.stop();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [stack.prefix]);
    await pool.end();
    await deletePrefixKeys(stack.prefix);
  });

  it('shows a signal posted to another replica as queued, then changes it in place to forwarded', async () => {
    const connection = await feed(replica);
    expect(connection.status).toBe(200);
    expect(connection.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(connection.headers['cache-control']).toBe('no-cache, no-transform');
    await hello(connection);

    const id = await stack.send({ ticker: 'EVTA', side: 'buy', price: 3.5 });
    await waitFor(() => statusesOf(connection, id).includes('forwarded'), 15_000, 'forwarded on the feed');
    const changes = changesOf(connection.events).filter((c) => c.id === id);
    expect(changes.find((c) => c.status === 'queued')).toEqual({
      id, status: 'queued', ticker: 'EVTA', side: 'BUY', kind: 'source', price: 3.5, received_at: expect.any(String), at: expect.any(String), eventId: expect.any(String),
    });
    expect(changes.find((c) => c.status === 'approved')).toMatchObject({ basis: 'topn', rank: 1, snapshot_id: expect.any(String) });
    expect(changes.find((c) => c.status === 'forwarded')).toMatchObject({ attempt: 1, http_status: 200, latency_ms: expect.any(Number) });
    // Event ids are the stream's, increasing.
    const ids = connection.events.filter((e) => e.id).map((e) => e.id!);
    expect(ids.every((eventId) => /^\d+-\d+$/.test(eventId))).toBe(true);
  });

  it('shows a rejection with its reason', async () => {
    const connection = await feed(replica);
    await hello(connection);
    const id = await stack.send({ ticker: 'NOPE', side: 'buy' });
    await waitFor(() => statusesOf(connection, id).includes('rejected'), 15_000, 'rejected on the feed');
    expect(changesOf(connection.events).find((c) => c.id === id && c.status === 'rejected')).toMatchObject({ reason: 'not_in_topn', ticker: 'NOPE' });
  });

  it('after an ingest restart, a browser reconnecting with Last-Event-ID gets what it missed, and only that', async () => {
    const restarted = await startReplica();
    const first = await feed(restarted);
    const before = await stack.send({ ticker: 'EVTB', side: 'buy' });
    await waitFor(() => statusesOf(first, before).includes('forwarded'), 15_000, 'the first signal forwarded');
    const lastSeen = [...first.events].reverse().find((e) => e.id)!.id!;

    await restarted.stop();
    replicas.splice(replicas.indexOf(restarted), 1);
    await waitFor(() => first.ended, 5000, 'the stream to end with its ingest');
    const missed = await stack.send({ ticker: 'EVTC', side: 'buy' });
    await waitFor(async () => (await stack.signal(missed)).status === 'forwarded', 15_000, 'the missed signal forwarded');

    const again = await startReplica();
    const resumed = await feed(again, { ...BEARER, 'Last-Event-ID': lastSeen });
    expect(resumed.status).toBe(200);
    await waitFor(() => statusesOf(resumed, missed).includes('forwarded'), 10_000, 'the missed signal on the resumed feed');
    expect(statusesOf(resumed, missed)).toContain('queued');
    expect(statusesOf(resumed, before)).toEqual([]);
    expect(resumed.events.some((e) => e.event === 'reset')).toBe(false);
    const newer = (eventId: string) => { const [ms, seq] = eventId.split('-').map(Number); const [lms, lseq] = lastSeen.split('-').map(Number); return ms > lms || (ms === lms && seq > lseq); };
    expect(changesOf(resumed.events).every((c) => newer(c.eventId))).toBe(true);
  });

  it('resumes from ?last_event_id= too, for a client that cannot set the header', async () => {
    const first = await feed(replica);
    const { id: position } = await hello(first);
    expect(position).toMatch(/^\d+-\d+$/);
    const id = await stack.send({ ticker: 'EVTA', side: 'sell' });
    await waitFor(() => statusesOf(first, id).length > 0, 10_000, 'the signal');
    const resumed = await feed(replica, BEARER, `?last_event_id=${position}`);
    await waitFor(() => statusesOf(resumed, id).includes('queued'), 10_000, 'the replayed change');
  });

  it('tells a browser whose last event is no longer kept to reload its list', async () => {
    const connection = await feed(replica, { ...BEARER, 'Last-Event-ID': '1-0' });
    expect(connection.status).toBe(200);
    const reset = await connection.waitForEvent((e) => e.event === 'reset');
    expect(JSON.parse(reset.data)).toEqual({ reason: 'not_kept' });
    await hello(connection);
  });

  it('refuses a request without admin credentials, and accepts the console session cookie', async () => {
    const refusals: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong' }, { Cookie: 'tsp_admin=v1.9999999999.forged.signature' }];
    for (const headers of refusals) {
      const refused = await feed(replica, headers);
      expect(refused.status).toBe(401);
      await waitFor(() => refused.ended, 5000, 'the answer');
      expect(JSON.parse(refused.body).error).toBe('unauthorized');
    }
    const login = await request(`http://127.0.0.1:${replica.port}`).post('/admin/login').type('form').send(`token=${ADMIN}`);
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    const connection = await feed(replica, { Cookie: cookie });
    expect(connection.status).toBe(200);
    await hello(connection);
  });

  it.each([
    ['a header that is not an id', { 'Last-Event-ID': 'abc' }, ''],
    ['a header with a third part', { 'Last-Event-ID': '1-2-3' }, ''],
    ['a header of Redis\'s special ids', { 'Last-Event-ID': '$' }, ''],
    ['a query with a control character', {}, '?last_event_id=1-0%00'],
    ['a query with full-width digits', {}, `?last_event_id=${encodeURIComponent('\uFF11-0')}`],
    ['a query with a negative id', {}, '?last_event_id=-1-0'],
    ['a query of 10,000 characters', {}, `?last_event_id=${'1'.repeat(10_000)}-0`],
    ['a query given twice', {}, '?last_event_id=1-0&last_event_id=2-0'],
  ])('answers 400 for %s', async (_name, headers, query) => {
    const connection = await feed(replica, { ...BEARER, ...headers }, query);
    expect(connection.status).toBe(400);
    await waitFor(() => connection.ended, 5000, 'the answer');
    expect(JSON.parse(connection.body).error).toMatch(/^invalid_(query|last_event_id)$/);
  });

  it('serves at most ADMIN_EVENTS_MAX_CONNECTIONS browsers a replica, 503 beyond, and takes one again when one leaves', async () => {
    const capped = await startReplica({ ADMIN_EVENTS_MAX_CONNECTIONS: '2' });
    const one = await feed(capped);
    const two = await feed(capped);
    expect([one.status, two.status]).toEqual([200, 200]);
    const three = await feed(capped);
    expect(three.status).toBe(503);
    expect(three.headers['retry-after']).toBeDefined();
    one.close();
    const four = await waitFor(async () => {
      const attempt = await feed(capped);
      return attempt.status === 200 ? attempt : null;
    }, 5000, 'a free connection');
    await hello(four);
  });
});
