import request from 'supertest';
import IORedis from 'ioredis';
import { Queue } from 'bullmq';
import { createLogger, loadConfig, QUEUE, redisKeys, type Config, type HttpRequest } from '@tsp/core';
import { startIngest } from '../src/service';
import { AdminSessions, ADMIN_SESSION_COOKIE } from '../src/admin-session';
import { LoginThrottle, TOKEN_THROTTLE } from '../src/login-throttle';
import { AdminDoor } from '../src/admin-door';
import { ingestGuards } from '../src/guards';
import type { IngestContext } from '../src/ingest-context';
import { uniquePrefix } from '../../../test/support/helpers';

const TOKEN = 'console-token';
const TWELVE_HOURS = 12 * 3600;

type Ingest = Awaited<ReturnType<typeof startIngest>>;

function consoleConfig(label: string, env: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, KEY_PREFIX: uniquePrefix(label), INGEST_PORT: '0', ADMIN_TOKEN: TOKEN, ...env });
}

async function startConsole(config: Config): Promise<{ ingest: Ingest; url: string }> {
  const ingest = await startIngest(config, createLogger('ingest', 'error'));
  return { ingest, url: `http://127.0.0.1:${ingest.port}` };
}

/** Signs in through the form and answers the `name=value` pair to send back as Cookie. */
async function signIn(url: string, forwardedFor?: string): Promise<string> {
  const req = request(url).post('/admin/login').type('form');
  if (forwardedFor) req.set('X-Forwarded-For', forwardedFor);
  const res = await req.send(`token=${TOKEN}`);
  expect(res.status).toBe(303);
  return setCookie(res).split(';')[0];
}

function setCookie(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  expect(header).toHaveLength(1);
  return header![0];
}

/** What an authenticated request to the console and its API gets: 200 page, 200 Bull Board, 200 JSON. */
async function isSignedIn(url: string, cookie: string): Promise<boolean> {
  const [page, board, api] = await Promise.all([
    request(url).get('/admin').set('Cookie', cookie),
    request(url).get('/admin/queues').set('Cookie', cookie),
    request(url).get('/signals').set('Cookie', cookie),
  ]);
  const answers = [page.text.includes('Sign out'), board.status === 200, api.status === 200];
  // All three doors must agree; a mix means one of them checks something else.
  expect(new Set(answers).size).toBe(1);
  if (!answers[0]) {
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="token"');
    expect(board.status).toBe(302);
    expect(board.headers.location).toBe('/admin');
    expect(api.status).toBe(401);
  }
  return answers[0];
}

async function deleteKeys(redis: IORedis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}

describe('the admin console', () => {
  const config = consoleConfig('console');
  const keys = redisKeys(config.keyPrefix);
  let ingest: Ingest;
  let url: string;
  let redis: IORedis;
  let origin: string;

  beforeAll(async () => {
    ({ ingest, url } = await startConsole(config));
    origin = url;
    redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await ingest.stop();
    await deleteKeys(redis, config.keyPrefix);
    redis.disconnect();
  });

  it('shows a login form, and Bull Board and the admin API only after signing in', async () => {
    expect((await request(url).get('/admin')).text).toContain('name="token"');
    expect((await request(url).get('/admin/queues')).status).toBe(302);
    const wrong = await request(url).post('/admin/login').type('form').send('token=wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const cookie = await signIn(url);
    const board = await request(url).get('/admin/queues').set('Cookie', cookie);
    expect(board.text).toContain('<html');
    expect(await isSignedIn(url, cookie)).toBe(true);
  });

  it('sets a signed, expiring session, not the token, with HttpOnly, SameSite=Strict, Path=/ and Max-Age', async () => {
    const res = await request(url).post('/admin/login').type('form').send(`token=${TOKEN}`);
    const header = setCookie(res);
    const value = decodeURIComponent(header.split(';')[0].slice(`${ADMIN_SESSION_COOKIE}=`.length));
    expect(value).not.toContain(TOKEN);
    const [version, expiresAt, id, signature] = value.split('.');
    expect(version).toBe('v1');
    expect(Number(expiresAt) - Date.now() / 1000).toBeGreaterThan(TWELVE_HOURS - 60);
    expect(Number(expiresAt) - Date.now() / 1000).toBeLessThanOrEqual(TWELVE_HOURS);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const attributes = header.split(';').slice(1).map((part) => part.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/', `max-age=${TWELVE_HOURS}`]));
    // Plain HTTP and ADMIN_COOKIE_SECURE unset: a Secure cookie would never come back.
    expect(attributes).not.toContain('secure');
    // Two sign-ins are two sessions.
    expect(await signIn(url)).not.toBe(header.split(';')[0]);
  });

  it('refuses the raw token as a cookie (the old console cookie)', async () => {
    expect(await isSignedIn(url, `${ADMIN_SESSION_COOKIE}=${TOKEN}`)).toBe(false);
  });

  it('refuses an expired session, checked by the server whatever the browser keeps', async () => {
    const sessions = new AdminSessions(redis, config.keyPrefix, TOKEN, config.adminSessionTtlSec);
    const expired = sessions.issue(Date.now() - (TWELVE_HOURS + 1) * 1000).value;
    expect(await isSignedIn(url, `${ADMIN_SESSION_COOKIE}=${expired}`)).toBe(false);
    const current = sessions.issue().value;
    expect(await isSignedIn(url, `${ADMIN_SESSION_COOKIE}=${current}`)).toBe(true);
  });

  it('refuses a session whose expiry was pushed back, or that another ADMIN_TOKEN signed', async () => {
    const sessions = new AdminSessions(redis, config.keyPrefix, TOKEN, config.adminSessionTtlSec);
    const [version, expiresAt, id, signature] = sessions.issue().value.split('.');
    const extended = [version, String(Number(expiresAt) + 86_400), id, signature].join('.');
    expect(await isSignedIn(url, `${ADMIN_SESSION_COOKIE}=${extended}`)).toBe(false);
    const otherToken = new AdminSessions(redis, config.keyPrefix, 'another-token', config.adminSessionTtlSec).issue().value;
    expect(await isSignedIn(url, `${ADMIN_SESSION_COOKIE}=${otherToken}`)).toBe(false);
  });

  it('signs out: the cookie is cleared and the session revoked on the server, for as long as it would have lived', async () => {
    const cookie = await signIn(url);
    expect((await request(url).get('/admin').set('Cookie', cookie)).text).toContain('action="/admin/logout"');
    const out = await request(url).post('/admin/logout').set('Cookie', cookie).set('Origin', origin);
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/admin');
    const cleared = setCookie(out).toLowerCase();
    expect(cleared).toMatch(new RegExp(`^${ADMIN_SESSION_COOKIE}=;`));
    expect(cleared).toContain('max-age=0');
    // Someone who kept the cookie is refused anyway.
    expect(await isSignedIn(url, cookie)).toBe(false);
    const id = decodeURIComponent(cookie).split('.')[2];
    const ttl = await redis.ttl(keys.adminSessionRevoked(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TWELVE_HOURS);
  });

  it('signing out one session leaves the others', async () => {
    const [kept, ended] = [await signIn(url), await signIn(url)];
    await request(url).post('/admin/logout').set('Cookie', ended).set('Origin', origin).expect(303);
    expect(await isSignedIn(url, kept)).toBe(true);
    expect(await isSignedIn(url, ended)).toBe(false);
  });

  it('refuses a sign-out sent from another site, and the session stays', async () => {
    const cookie = await signIn(url);
    const res = await request(url).post('/admin/logout').set('Cookie', cookie).set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await isSignedIn(url, cookie)).toBe(true);
  });

  describe('a state-changing request the cookie authenticates must come from this origin', () => {
    let cookie: string;
    beforeAll(async () => {
      cookie = await signIn(url);
    });
    const replayAll = () => request(url).post('/admin/dead/replay-all').set('Cookie', cookie);

    it('refuses a foreign Origin, Origin: null, a cross-site fetch and no origin at all with 403', async () => {
      for (const res of [
        await replayAll().set('Origin', 'https://evil.example'),
        await replayAll().set('Origin', `http://127.0.0.1.evil.example:${ingest.port}`),
        await replayAll().set('Origin', 'null'),
        await replayAll().set('Sec-Fetch-Site', 'cross-site'),
        await replayAll(),
      ]) {
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('forbidden');
      }
    });

    it('lets the console itself through: its Origin, or Sec-Fetch-Site: same-origin', async () => {
      expect((await replayAll().set('Origin', origin)).status).toBe(202);
      expect((await replayAll().set('Sec-Fetch-Site', 'same-origin')).status).toBe(202);
    });

    it('leaves reads alone: a GET with a foreign Origin is answered', async () => {
      expect((await request(url).get('/signals').set('Cookie', cookie).set('Origin', 'https://evil.example')).status).toBe(200);
    });

    it('does not apply to a Bearer token (scripts send no Origin)', async () => {
      const res = await request(url).post('/admin/dead/replay-all').set('Authorization', `Bearer ${TOKEN}`);
      expect(res.status).toBe(202);
    });

    it("guards Bull Board's own API the same way, and Bull Board changes no queue (a viewer)", async () => {
      const queue = new Queue(QUEUE.signals, { connection: redis, prefix: config.keyPrefix });
      try {
        const pause = () => request(url).put(`/admin/queues/api/queues/${QUEUE.signals}/pause`).set('Cookie', cookie);
        expect((await pause().set('Origin', 'https://evil.example')).status).toBe(403);
        // Same origin passes the door, and Bull Board refuses: retries or added jobs would bypass tsp's order and checks.
        expect((await pause().set('Origin', origin)).status).toBe(405);
        const add = await request(url).post(`/admin/queues/api/queues/${QUEUE.signals}/add`).set('Authorization', `Bearer ${TOKEN}`).send({ name: 'signal', data: {} });
        expect(add.status).toBe(405);
        expect(await queue.isPaused()).toBe(false);
        expect(await queue.count()).toBe(0);
      } finally {
        await queue.close();
      }
    });
  });

  it.each([
    ['a lone %', `${ADMIN_SESSION_COOKIE}=%`],
    ['broken percent-encoding', `${ADMIN_SESSION_COOKIE}=%E0%A4%A`],
    ['an empty value', `${ADMIN_SESSION_COOKIE}=`],
    ['an unterminated quote', `${ADMIN_SESSION_COOKIE}="v1.1`],
    ['only separators', ';;=;; ='],
    ['the right shape with a bad signature', `${ADMIN_SESSION_COOKIE}=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAA.${'A'.repeat(43)}`],
    ['a huge value', `${ADMIN_SESSION_COOKIE}=${'v1.'.repeat(2000)}`],
    ['Latin-1 bytes', `${ADMIN_SESSION_COOKIE}=v1.ü.ß.é`],
  ])('treats a cookie with %s as not signed in, never a 500', async (_label, cookie) => {
    expect(await isSignedIn(url, cookie)).toBe(false);
    const out = await request(url).post('/admin/logout').set('Cookie', cookie).set('Origin', origin);
    expect(out.status).toBe(303);
  });

  it('records which credential let a request in', async () => {
    const guard = ingestGuards({ config, adminDoor: new AdminDoor(redis, config), credentialThrottle: new LoginThrottle(redis, config.keyPrefix, TOKEN_THROTTLE) } as IngestContext).admin[0];
    const asked = (headers: Record<string, string>): HttpRequest => ({ method: 'POST', params: {}, query: {}, headers: { host: '127.0.0.1', ...headers }, body: null, ip: '127.0.0.1' });
    const byToken = asked({ authorization: `Bearer ${TOKEN}` });
    expect(await guard.check(byToken)).toBeNull();
    expect(byToken.principal).toBe('ADMIN_TOKEN');
    const bySession = asked({ cookie: await signIn(url), origin: 'http://127.0.0.1' });
    expect(await guard.check(bySession)).toBeNull();
    expect(bySession.principal).toBe('admin_session');
  });
});

describe('the console cookie over TLS', () => {
  it('is Secure with ADMIN_COOKIE_SECURE=true, even over plain HTTP', async () => {
    const { ingest, url } = await startConsole(consoleConfig('console-secure', { ADMIN_COOKIE_SECURE: 'true' }));
    try {
      const res = await request(url).post('/admin/login').type('form').send(`token=${TOKEN}`);
      expect(setCookie(res).toLowerCase().split('; ')).toContain('secure');
      const out = await request(url).post('/admin/logout').set('Origin', url);
      expect(setCookie(out).toLowerCase().split('; ')).toContain('secure');
    } finally {
      await ingest.stop();
    }
  });

  it('by default is Secure when the request came over TLS (a trusted proxy says https), and not otherwise', async () => {
    const { ingest, url } = await startConsole(consoleConfig('console-tls', { TRUST_PROXY: '1' }));
    try {
      const login = () => request(url).post('/admin/login').type('form');
      const overTls = await login().set('X-Forwarded-Proto', 'https').send(`token=${TOKEN}`);
      expect(setCookie(overTls).toLowerCase().split('; ')).toContain('secure');
      const plain = await login().send(`token=${TOKEN}`);
      expect(setCookie(plain).toLowerCase().split('; ')).not.toContain('secure');
    } finally {
      await ingest.stop();
    }
  });

  it('is never Secure with ADMIN_COOKIE_SECURE=false', async () => {
    const { ingest, url } = await startConsole(consoleConfig('console-insecure', { ADMIN_COOKIE_SECURE: 'false', TRUST_PROXY: '1' }));
    try {
      const res = await request(url).post('/admin/login').type('form').set('X-Forwarded-Proto', 'https').send(`token=${TOKEN}`);
      expect(setCookie(res).toLowerCase().split('; ')).not.toContain('secure');
    } finally {
      await ingest.stop();
    }
  });
});

describe('console sign-in throttling', () => {
  // TRUST_PROXY=1: the test is the proxy, and X-Forwarded-For names two different clients.
  const config = consoleConfig('console-throttle', { TRUST_PROXY: '1' });
  const attacker = '203.0.113.7';
  const operator = '198.51.100.9';
  let ingest: Ingest;
  let url: string;
  let redis: IORedis;

  beforeAll(async () => {
    ({ ingest, url } = await startConsole(config));
    redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await ingest.stop();
    await deleteKeys(redis, config.keyPrefix);
    redis.disconnect();
  });

  const attempt = (address: string, token: string) =>
    request(url).post('/admin/login').type('form').set('X-Forwarded-For', address).send(`token=${encodeURIComponent(token)}`);

  it('answers the 6th wrong token from one address with 429 and Retry-After; another address still signs in', async () => {
    for (let i = 1; i <= 5; i++) expect((await attempt(attacker, `guess-${i}`)).status).toBe(401);
    const sixth = await attempt(attacker, 'guess-6');
    expect(sixth.status).toBe(429);
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Even the right token: the throttle answers before the token is looked at.
    expect((await attempt(attacker, TOKEN)).status).toBe(429);

    const cookie = await signIn(url, operator);
    expect(await isSignedIn(url, cookie)).toBe(true);
    // The operator's success cleared nothing of the attacker's count.
    expect((await attempt(attacker, 'guess-7')).status).toBe(429);
  });

  it('counts only failures: signing in repeatedly is never throttled', async () => {
    const address = '192.0.2.44';
    for (let i = 0; i < 7; i++) await signIn(url, address);
    expect(await redis.zcard(redisKeys(config.keyPrefix).adminLoginFailures(address))).toBe(0);
  });

  it('keeps the count in a key that expires with the window', async () => {
    const ttl = await redis.pttl(redisKeys(config.keyPrefix).adminLoginFailures(attacker));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15 * 60 * 1000);
  });
  it('refuses token guesses from one address past 30 in 15 minutes, on every token-guarded route, with Retry-After', async () => {
    const from = (address: string) => ({ 'X-Forwarded-For': address });
    const guesser = '203.0.113.99';
    for (let i = 0; i < 30; i++) {
      expect((await request(url).get('/signals').set('Authorization', `Bearer guess-${i}`).set(from(guesser))).status).toBe(401);
    }
    const blocked = await request(url).post('/sell/all').set(from(guesser)).send({ token: TOKEN });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(url).get('/signals').set('Authorization', `Bearer ${TOKEN}`).set(from('203.0.113.7'))).status).toBe(200);
  });

});

describe('the admin guard while Redis is down', () => {
  const config = consoleConfig('console-no-redis');
  // A client that never connects and queues nothing: every command fails at once, as against a dead Redis.
  const deadRedis = new IORedis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const guard = ingestGuards({ config, adminDoor: new AdminDoor(deadRedis, config), credentialThrottle: new LoginThrottle(deadRedis, config.keyPrefix, TOKEN_THROTTLE) } as IngestContext).admin[0];
  const asked = (headers: Record<string, string>): HttpRequest => ({ method: 'GET', params: {}, query: {}, headers, body: null, ip: '127.0.0.1' });
  afterAll(() => deadRedis.disconnect());

  it('answers 503 with Retry-After rather than letting a session in unchecked', async () => {
    const session = new AdminSessions(deadRedis, config.keyPrefix, TOKEN, config.adminSessionTtlSec).issue().value;
    const refusal = await guard.check(asked({ cookie: `${ADMIN_SESSION_COOKIE}=${session}` }));
    expect(refusal?.status).toBe(503);
    expect(refusal?.headers?.['Retry-After']).toBeDefined();
  });

  it('still lets a Bearer token in: it needs no Redis to check', async () => {
    expect(await guard.check(asked({ authorization: `Bearer ${TOKEN}` }))).toBeNull();
  });

  it('does not judge a wrong token it cannot count', async () => {
    expect((await guard.check(asked({ authorization: 'Bearer guess' })))?.status).toBe(503);
  });
});
