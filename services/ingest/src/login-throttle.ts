import { randomBytes } from 'node:crypto';
import type IORedis from 'ioredis';
import { redisKeys } from '@tsp/core';

export interface LoginThrottleOptions {
  /** Failed logins one address may make within `windowSec`. */
  maxFailures: number;
  /** The sliding window the failures are counted over. */
  windowSec: number;
  /** Which count: the console's sign-in form, or the tokens of the JSON routes. */
  counts: 'login' | 'tokens';
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = { maxFailures: 5, windowSec: 15 * 60, counts: 'login' };
/**
 * Failed tokens on the JSON routes (Bearer ADMIN_TOKEN, FINVIZ_UPDATE_TOKEN, the sell routes' token):
 * more lenient than the form, since scripts retry, and still far too few to guess a token.
 */
export const TOKEN_THROTTLE: LoginThrottleOptions = { maxFailures: 30, windowSec: 15 * 60, counts: 'tokens' };

/**
 * Takes a slot for one attempt, atomically, so concurrent attempts on any number of replicas
 * cannot together exceed the limit. The slots are a sorted set of attempt times (Redis's own
 * clock, the same for every replica), trimmed to the window; the key expires with its newest slot.
 * Returns 0 when the slot is taken, else the milliseconds until the oldest slot leaves the window.
 */
const TAKE_SLOT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
`;

/** The verdict on one login attempt before its token is checked. */
export type LoginAttempt =
  | { allowed: true; /** Call when the token was right: a success is not counted as a failure. */ succeeded(): Promise<void> }
  | { allowed: false; retryAfterSec: number };

/**
 * At most `maxFailures` failed console logins per client address in any `windowSec`, counted in
 * Redis so every ingest replica shares the count. Every attempt takes a slot before its token is
 * checked; a right token gives its own slot back and nothing else, so one address signing in
 * successfully never clears the failures another client behind the same address made.
 */
export class LoginThrottle {
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(private readonly redis: IORedis, keyPrefix: string, private readonly options = DEFAULT_LOGIN_THROTTLE) {
    this.keys = redisKeys(keyPrefix);
  }

  async attempt(address: string): Promise<LoginAttempt> {
    const key = this.options.counts === 'login' ? this.keys.adminLoginFailures(address) : this.keys.tokenFailures(address);
    const slot = randomBytes(8).toString('hex');
    const waitMs = Number(await this.redis.eval(TAKE_SLOT, 1, key, this.options.windowSec * 1000, this.options.maxFailures, slot));
    if (waitMs > 0) return { allowed: false, retryAfterSec: Math.ceil(waitMs / 1000) };
    // ZREM never creates the key, so giving a slot back after the key expired leaves nothing behind.
    return { allowed: true, succeeded: async () => { await this.redis.zrem(key, slot); } };
  }
}
