import type IORedis from 'ioredis';
import { redisKeys } from './names';
import { TopnSetSchema, type TopnSet } from './schemas';

/** Reads the published Top-N set; null when none was ever published (or it is unreadable). */
export async function readTopnSet(redis: IORedis, prefix: string): Promise<TopnSet | null> {
  const raw = await redis.get(redisKeys(prefix).topn);
  return parseTopnSet(raw);
}

export function parseTopnSet(raw: string | null): TopnSet | null {
  if (!raw) return null;
  try {
    const parsed = TopnSetSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function topnAgeSec(set: TopnSet, now = Date.now()): number {
  return Math.max(0, (now - Date.parse(set.fetched_at)) / 1000);
}

export function isTopnStale(set: TopnSet, maxAgeSec: number, now = Date.now()): boolean {
  return topnAgeSec(set, now) > maxAgeSec;
}
