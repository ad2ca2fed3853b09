import type IORedis from 'ioredis';
import { redisKeys } from '@tsp/core';

/** How long a repeat of the same Idempotency-Key is answered with the first signal's id. */
export const IDEMPOTENCY_WINDOW_SEC = 24 * 3600;
const MAX_KEY_LENGTH = 256;

/** The key a sender gave: the `Idempotency-Key` header, else the body's `id` field. */
export function idempotencyKeyOf(header: string | undefined, body: Record<string, unknown>): string | null {
  const raw = header ?? (typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : undefined);
  const key = raw?.trim();
  return key ? key.slice(0, MAX_KEY_LENGTH) : null;
}

export class IdempotencyStore {
  constructor(private readonly redis: IORedis, private readonly prefix: string) {}

  /**
   * Claims the key for signalId. Returns null when claimed, or the id of the signal that claimed
   * it first (a repeat). The claim is atomic, so two concurrent repeats cannot both enqueue.
   */
  async claim(key: string, signalId: string): Promise<string | null> {
    const redisKey = redisKeys(this.prefix).idempotency(key);
    const set = await this.redis.set(redisKey, signalId, 'EX', IDEMPOTENCY_WINDOW_SEC, 'NX');
    if (set === 'OK') return null;
    return (await this.redis.get(redisKey)) ?? signalId;
  }

  /** Gives the key back when the signal could not be enqueued, so the sender's retry is accepted. */
  async release(key: string, signalId: string): Promise<void> {
    const redisKey = redisKeys(this.prefix).idempotency(key);
    // Delete only our own claim.
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, redisKey, signalId);
  }
}
