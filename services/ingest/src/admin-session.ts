import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type IORedis from 'ioredis';
import { redisKeys } from '@tsp/core';

/** The cookie the /admin login form sets; it holds a session, never ADMIN_TOKEN itself. */
export const ADMIN_SESSION_COOKIE = 'tsp_admin';

/** A console session as the server knows it once its cookie has been verified. */
export interface AdminSession {
  /** Random, names the session when it is revoked. */
  id: string;
  /** Epoch seconds after which the session is refused. */
  expiresAt: number;
}

const VERSION = 'v1';
const ID_BYTES = 16;
/** base64url of 16 random bytes; of a SHA-256 HMAC. */
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Console sessions as signed cookie values, `v1.<expiresAtEpochSec>.<id>.<HMAC-SHA256 base64url>`.
 *
 * The signing key is derived from ADMIN_TOKEN, so every ingest replica verifies a session without
 * sharing state, and changing the token invalidates every session at once. The expiry is inside
 * the signed text, so the server refuses an old cookie whatever the browser does with Max-Age.
 * Signing out is the one thing that needs shared state: a Redis key per revoked id, living only
 * until the session would have expired anyway.
 */
export class AdminSessions {
  private readonly key: Buffer;
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly redis: IORedis,
    keyPrefix: string,
    adminToken: string,
    /** Lifetime of a new session (ADMIN_SESSION_TTL_SEC). */
    readonly ttlSec: number,
  ) {
    // A key of its own rather than the token: a leaked signature says nothing usable about ADMIN_TOKEN.
    this.key = Buffer.from(hkdfSync('sha256', adminToken, '', 'tsp admin console session v1', 32));
    this.keys = redisKeys(keyPrefix);
  }

  /** A new session and its cookie value. `nowMs` is the moment it starts (tests issue expired ones with it). */
  issue(nowMs = Date.now()): { session: AdminSession; value: string } {
    const session = { id: randomBytes(ID_BYTES).toString('base64url'), expiresAt: Math.floor(nowMs / 1000) + this.ttlSec };
    const payload = `${VERSION}.${session.expiresAt}.${session.id}`;
    return { session, value: `${payload}.${this.sign(payload)}` };
  }

  /**
   * The session a cookie value names, or null when it is malformed, forged, expired or signed out.
   * Throws when Redis cannot say whether it was signed out: a session is never accepted unchecked.
   */
  async verify(value: string | undefined, nowMs = Date.now()): Promise<AdminSession | null> {
    const session = this.verifySignature(value);
    if (!session || session.expiresAt <= Math.floor(nowMs / 1000)) return null;
    const revoked = await this.redis.exists(this.keys.adminSessionRevoked(session.id));
    return revoked ? null : session;
  }

  /** Signs a session out on every replica until it would have expired. */
  async revoke(session: AdminSession, nowMs = Date.now()): Promise<void> {
    const remainingSec = session.expiresAt - Math.floor(nowMs / 1000);
    if (remainingSec <= 0) return;
    await this.redis.set(this.keys.adminSessionRevoked(session.id), '1', 'EX', remainingSec);
  }

  /** Seconds a session has left, for the cookie's Max-Age. */
  remainingSec(session: AdminSession, nowMs = Date.now()): number {
    return Math.max(0, session.expiresAt - Math.floor(nowMs / 1000));
  }

  private verifySignature(value: string | undefined): AdminSession | null {
    const parts = (value ?? '').split('.');
    if (parts.length !== 4) return null;
    const [version, expires, id, signature] = parts;
    if (version !== VERSION || !/^[0-9]{1,12}$/.test(expires) || !ID_PATTERN.test(id) || !SIGNATURE_PATTERN.test(signature)) return null;
    const expected = Buffer.from(this.sign(`${version}.${expires}.${id}`));
    // Both are 43 characters here, as timingSafeEqual requires; the comparison takes the same time wherever they differ.
    if (!timingSafeEqual(Buffer.from(signature), expected)) return null;
    return { id, expiresAt: Number(expires) };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
