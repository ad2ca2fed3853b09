import type IORedis from 'ioredis';
import { redisKeys } from './names';
import { parseJsonWith, TopnSetSchema, type TopnSet } from './schemas';

/** Reads the published Top-N set; null when none was ever published (or it is unreadable). */
export async function readTopnSet(redis: IORedis, prefix: string): Promise<TopnSet | null> {
  const raw = await redis.get(redisKeys(prefix).topn);
  return parseTopnSet(raw);
}

export function parseTopnSet(raw: string | null): TopnSet | null {
  return raw ? parseJsonWith(TopnSetSchema, raw) : null;
}

export function topnAgeSec(set: TopnSet, now = Date.now()): number {
  return Math.max(0, (now - Date.parse(set.fetched_at)) / 1000);
}

export function isTopnStale(set: TopnSet, maxAgeSec: number, now = Date.now()): boolean {
  return topnAgeSec(set, now) > maxAgeSec;
}
