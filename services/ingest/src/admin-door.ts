import type IORedis from 'ioredis';
import { parseCookie, stringifySetCookie } from 'cookie';
import { bearerToken, DependencyUnavailableError, secretsEqual, type Config } from '@tsp/core';
import { ADMIN_SESSION_COOKIE, AdminSessions, type AdminSession } from './admin-session';
import { LoginThrottle } from './login-throttle';
import { isSameOriginRequest, isStateChanging } from './same-origin';

/** Which credential let an admin request in: the audit's "who". */
export const ADMIN_PRINCIPAL = { token: 'ADMIN_TOKEN', session: 'admin_session' } as const;

/** What the door makes of a request to an admin page or route. */
export type AdminAuth =
  | { ok: true; principal: typeof ADMIN_PRINCIPAL.token }
  | { ok: true; principal: typeof ADMIN_PRINCIPAL.session; session: AdminSession }
  /** `cross_origin`: a valid session, on a state-changing request another site may have sent. */
  | { ok: false; reason: 'unauthenticated' | 'cross_origin' };

export type SignInResult =
  | { ok: true; cookie: (overTls: boolean) => string }
  | { ok: false; reason: 'disabled' | 'wrong_token' }
  | { ok: false; reason: 'throttled'; retryAfterSec: number };

/** The parts of a request the door reads; both express's request and the route table's have them. */
export interface AdminRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Who may use the admin console, its pages and its JSON routes: ADMIN_TOKEN as a Bearer header
 * (scripts), or a session cookie the /admin login form issues (browsers, which cannot put a
 * header on Bull Board's requests). Every admin entry point (the console page, Bull Board, the
 * `admin` route guard) asks this one door, so they cannot disagree.
 *
 * Methods that read sessions or the throttle throw DependencyUnavailableError when Redis cannot
 * answer: a session is never let in unchecked, nor a login attempt uncounted.
 */
export class AdminDoor {
  private readonly sessions: AdminSessions | null;
  private readonly throttle: LoginThrottle;

  constructor(redis: IORedis, private readonly config: Pick<Config, 'keyPrefix' | 'adminToken' | 'adminSessionTtlSec' | 'adminCookieSecure'>) {
    this.sessions = config.adminToken ? new AdminSessions(redis, config.keyPrefix, config.adminToken, config.adminSessionTtlSec) : null;
    this.throttle = new LoginThrottle(redis, config.keyPrefix);
  }

  /** False without ADMIN_TOKEN: every admin page and route then refuses everyone. */
  get enabled(): boolean {
    return this.sessions !== null;
  }

  async authenticate(req: AdminRequest): Promise<AdminAuth> {
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    // A Bearer header is never sent by a browser on its own, so it needs no origin check.
    if (secretsEqual(bearerToken(authorization), this.config.adminToken)) return { ok: true, principal: ADMIN_PRINCIPAL.token };
    const session = await this.sessionOf(req);
    if (!session) return { ok: false, reason: 'unauthenticated' };
    if (isStateChanging(req.method) && !isSameOriginRequest(req.headers)) return { ok: false, reason: 'cross_origin' };
    return { ok: true, principal: ADMIN_PRINCIPAL.session, session };
  }

  /** Checks the login form's token, at most as often as the throttle allows from `address`. */
  async signIn(token: string, address: string): Promise<SignInResult> {
    const sessions = this.sessions;
    if (!sessions) return { ok: false, reason: 'disabled' };
    const attempt = await askRedis(() => this.throttle.attempt(address));
    if (!attempt.allowed) return { ok: false, reason: 'throttled', retryAfterSec: attempt.retryAfterSec };
    if (!secretsEqual(token, this.config.adminToken)) return { ok: false, reason: 'wrong_token' };
    await askRedis(() => attempt.succeeded());
    const { session, value } = sessions.issue();
    return { ok: true, cookie: (overTls) => this.cookie(value, sessions.remainingSec(session), overTls) };
  }

  /** Revokes the request's session, if it has a valid one, on every replica. */
  async signOut(req: AdminRequest): Promise<void> {
    const session = await this.sessionOf(req);
    const sessions = this.sessions;
    if (session && sessions) await askRedis(() => sessions.revoke(session));
  }

  /** The Set-Cookie value that makes the browser forget its session. */
  clearedCookie(overTls: boolean): string {
    return this.cookie('', 0, overTls);
  }

  private async sessionOf(req: AdminRequest): Promise<AdminSession | null> {
    if (!this.sessions || typeof req.headers.cookie !== 'string') return null;
    // The library decodes what it can and keeps the rest as sent; the signature check refuses it.
    const value = parseCookie(req.headers.cookie)[ADMIN_SESSION_COOKIE];
    const sessions = this.sessions;
    return askRedis(() => sessions.verify(value));
  }

  private cookie(value: string, maxAgeSec: number, overTls: boolean): string {
    return stringifySetCookie(ADMIN_SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: maxAgeSec,
      // ADMIN_COOKIE_SECURE when set; otherwise whatever the request came over (req.secure honours TRUST_PROXY).
      secure: this.config.adminCookieSecure ?? overTls,
    });
  }
}

async function askRedis<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new DependencyUnavailableError('redis', `Redis is unavailable, so admin sign-in cannot be checked: ${(error as Error).message}`);
  }
}
