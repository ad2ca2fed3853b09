import { createHash } from 'node:crypto';
import type IORedis from 'ioredis';
import { LuaScript, redisKeys, type MarkOnAdd } from '@tsp/core';

/** How long a repeat of the same Idempotency-Key is answered with the first signal's id. */
export const IDEMPOTENCY_WINDOW_SEC = 24 * 3600;
/** Longer keys are refused rather than cut: two keys that differ only past a cut would collide. */
export const MAX_KEY_LENGTH = 1024;

export type KeyOfRequest = { ok: true; key: string | null } | { ok: false; message: string };

/** The key a sender gave: the `Idempotency-Key` header, else the body's `id` field. */
export function idempotencyKeyOf(header: string | undefined, body: Record<string, unknown>): KeyOfRequest {
  const raw = header ?? (typeof body.id === 'string' || (typeof body.id === 'number' && Number.isFinite(body.id)) ? String(body.id) : undefined);
  const key = raw?.trim();
  if (!key) return { ok: true, key: null };
  if (key.length > MAX_KEY_LENGTH) return { ok: false, message: `an idempotency key (Idempotency-Key or id) may hold at most ${MAX_KEY_LENGTH} characters` };
  return { ok: true, key };
}

/**
 * Where a key stands: `claimed` by a signal whose job was not added (yet, or ever: its request
 * failed or its process died in between), or `added` once the signal's job exists.
 */
export type KeyState = { state: 'new' | 'claimed' | 'added'; signalId: string };

/** KEYS: the key. ARGV: a new signal id, TTL. Claims a free key for the new id; else answers where it stands. */
const CLAIM = new LuaScript('tspIdempotencyClaim', `
local stored = redis.call('GET', KEYS[1])
if not stored then
  redis.call('SET', KEYS[1], 'claimed:' .. ARGV[1], 'EX', ARGV[2])
  return {'new', ARGV[1]}
end
local state, id = string.match(stored, '^(%a+):(.+)$')
if not state then return {'added', stored} end
return {state, id}`);

/**
 * Idempotency keys. A key is claimed before its signal's job is added and marked `added` in the
 * script call that adds the job (LaneEnqueueScript), only if the job exists, so "added" means the
 * signal really exists: only then is a repeat answered as a duplicate. A key left `claimed` (Redis failed, or the process died, between the
 * two steps) is taken up by the sender's retry, under the first signal's id; were both to race,
 * the job id makes the second add a no-op. Keys are hashed whole.
 */
export class IdempotencyStore {
  constructor(private readonly redis: IORedis, private readonly prefix: string) {}

  private keyOf(key: string): string {
    return redisKeys(this.prefix).idempotency(createHash('sha256').update(key).digest('hex'));
  }

  async claim(key: string, newSignalId: string): Promise<KeyState> {
    const [state, signalId] = (await CLAIM.run(this.redis, [this.keyOf(key)], [newSignalId, IDEMPOTENCY_WINDOW_SEC])) as [KeyState['state'], string];
    return { state, signalId };
  }

  /** The key marked `added` by the script that adds the signal's job, once that job exists. */
  addedMark(key: string, signalId: string): MarkOnAdd {
    return { key: this.keyOf(key), value: `added:${signalId}` };
  }
}
