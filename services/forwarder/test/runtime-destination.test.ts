import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startForwarder } from '../src/service';
import { deletePrefixKeys, jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { rowWithStatus, seedApproved, uniqueTicker } from './seed-approved';

const ADMIN = 'destination-admin';

describe('the destination changed at runtime', () => {
  const prefix = uniquePrefix('destination');
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  const forwarders: Awaited<ReturnType<typeof startForwarder>>[] = [];
  let first: LocalServer;
  let second: LocalServer;
  /** A server on a host:port DEST_ALLOWED_HOSTS does not list. */
  let elsewhere: LocalServer;

  const start = async (env: Record<string, string> = {}) => {
    const config = loadConfig({
      ...process.env, ...env, KEY_PREFIX: prefix, FORWARDER_PORT: '0', ADMIN_TOKEN: ADMIN, DEST_WEBHOOK_URL: `${first.url}/hook/secret-path-token`,
      DEST_ALLOWED_HOSTS: `${new URL(first.url).host},${new URL(second.url).host},broker.example`, DEST_WEBHOOK_RATE_LIMITING_ENABLED: 'false', FORWARD_BACKOFF_BASE_MS: '50',
    });
    const forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
    forwarders.push(forwarder);
    return forwarder;
  };
  const admin = (forwarder: { port: number }, method: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${forwarder.port}/admin/destination`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const deliveredTo = (server: LocalServer, id: string) => server.received.some((r) => r.headers['idempotency-key'] === id);

  beforeAll(async () => {
    [first, second, elsewhere] = await Promise.all([0, 1, 2].map(() => startLocalServer(() => ({ status: 200, body: '{}' }))));
  });

  afterAll(async () => {
    for (const forwarder of forwarders) await forwarder.stop();
    await prisma.destinationSetting.deleteMany({ where: { deployment: prefix } });
    await prisma.adminAction.deleteMany({ where: { deployment: prefix } });
    await forward.obliterate({ force: true });
    await forward.close();
    await deletePrefixKeys(prefix);
    await prisma.$disconnect();
    redis.disconnect();
    await Promise.all([first, second, elsewhere].map((server) => server.close()));
  });

  it('shows where deliveries go without the URL\'s path, and refuses a change without the admin token', async () => {
    const a = await start();
    const shown = await jsonOf<Record<string, unknown>>(admin(a, 'GET'));
    expect(shown).toMatchObject({ source: 'environment', origin: first.url, timeout_ms: 5000, updated_at: null });
    expect(JSON.stringify(shown)).not.toContain('secret-path-token');
    const anonymous = await fetch(`http://127.0.0.1:${a.port}/admin/destination`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${second.url}/hook` }) });
    expect(anonymous.status).toBe(401);
  });

  it('refuses a host outside DEST_ALLOWED_HOSTS and any malformed change, and changes nothing', async () => {
    const a = forwarders[0];
    const refused = [
      { url: `${elsewhere.url}/hook` },
      { url: 'https://user:pw@' + new URL(second.url).host + '/hook' },
      { url: `${second.url}/ho\tok` },
      { url: `http://127.0.0.1\n:${new URL(second.url).port}/hook` },
      { url: `${second.url}/hook with space` },
      // A look-alike of a listed name (Cyrillic "о"), and a listed name on a port not listed.
      { url: 'https://br\u043eker.example/hook' },
      { url: 'https://broker.example:8443/hook' },
      { url: `ftp://${new URL(second.url).host}/hook` },
      { url: `${second.url}/${'x'.repeat(2000)}` },
      { url: 42 },
      { timeout_ms: '5000' },
      { timeout_ms: 50 },
      { timeout_ms: 600_001 },
      { timeout_ms: 1.5 },
      {},
      { url: `${second.url}/hook`, extra: true },
    ];
    for (const body of refused) {
      const answer = await admin(a, 'POST', body);
      expect([body, answer.status]).toEqual([body, 400]);
      expect((await jsonOf<{ error: string }>(answer)).error).toBe('invalid_destination');
    }
    expect(await prisma.destinationSetting.findUnique({ where: { deployment: prefix } })).toBeNull();
  });

  it('moves deliveries of every replica within 2 s, and of a replica started later', async () => {
    const [a] = forwarders;
    const b = await start();
    const before = await seedApproved(prisma, forward, { ticker: uniqueTicker('DST') });
    await rowWithStatus(prisma, before.id, 'forwarded');
    expect(deliveredTo(first, before.id)).toBe(true);

    const changed = await admin(a, 'POST', { url: `${second.url}/hook`, timeout_ms: 3000 });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ source: 'runtime', origin: second.url, timeout_ms: 3000 });
    await waitFor(async () => (await jsonOf<{ origin: string }>(admin(b, 'GET'))).origin === second.url, 2500, 'the other replica to follow');
    // Audited: who, from where, before and after (origins and fingerprints, never the path).
    const logged = await prisma.adminAction.findFirst({ where: { deployment: prefix, action: 'destination.update' }, orderBy: { id: 'desc' } });
    expect(logged).toMatchObject({ outcome: 'done', tokenKind: 'admin_token', before: { origin: first.url }, after: { origin: second.url, timeout_ms: 3000 } });
    expect(JSON.stringify(logged?.before)).not.toContain('secret-path-token');

    const after = await Promise.all([0, 1, 2, 3].map(() => seedApproved(prisma, forward, { ticker: uniqueTicker('DST') })));
    for (const signal of after) await rowWithStatus(prisma, signal.id, 'forwarded');
    expect(after.filter((signal) => deliveredTo(second, signal.id))).toHaveLength(4);
    expect(after.filter((signal) => deliveredTo(first, signal.id))).toHaveLength(0);

    const late = await start();
    await waitFor(async () => (await jsonOf<{ source: string }>(admin(late, 'GET'))).source === 'runtime', 15_000, 'the late replica to read it');
    expect(await jsonOf(admin(late, 'GET'))).toMatchObject({ origin: second.url, timeout_ms: 3000 });
  });

  it('delivers nothing to a stored destination DEST_ALLOWED_HOSTS no longer allows, until it is reset to the environment\'s', async () => {
    for (const forwarder of forwarders) await forwarder.stop();
    forwarders.length = 0;
    // As if the operator took a leaked token's destination off the allow-list and restarted.
    await prisma.destinationSetting.update({ where: { deployment: prefix }, data: { url: `${elsewhere.url}/hook` } });
    const strict = await start();
    // The stored destination is read after start: until then /ready says it is waiting for it (also 503).
    let readiness = '';
    await waitFor(async () => {
      const ready = await fetch(`http://127.0.0.1:${strict.port}/ready`);
      readiness = await ready.text();
      return ready.status === 503 && /DEST_ALLOWED_HOSTS/.test(readiness);
    }, 5000, `/ready to name DEST_ALLOWED_HOSTS (last: ${readiness})`);
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('DST') });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([first, second, elsewhere].some((server) => deliveredTo(server, signal.id))).toBe(false);
    const reset = await admin(strict, 'DELETE');
    expect(reset.status).toBe(200);
    expect(await reset.json()).toMatchObject({ source: 'environment', origin: first.url });
    await rowWithStatus(prisma, signal.id, 'forwarded');
    expect(deliveredTo(first, signal.id)).toBe(true);
    expect(deliveredTo(elsewhere, signal.id)).toBe(false);
  });

  it('delivers nothing before it has read the destination in force from Postgres', async () => {
    const blind = await start({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/tsp_unreachable', FORWARDING_WORKERS: '1' });
    const ready = await fetch(`http://127.0.0.1:${blind.port}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/runtime destination/);
    // The other replicas stop; the blind one must not take the signal to the environment's destination.
    for (const forwarder of forwarders.filter((f) => f !== blind)) await forwarder.stop();
    forwarders.splice(0, forwarders.length, blind);
    const signal = await seedApproved(prisma, forward, { ticker: uniqueTicker('DST') });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(deliveredTo(first, signal.id) || deliveredTo(second, signal.id)).toBe(false);
  });
});
