import { limitsInForce, redisKeys } from '@tsp/core';
import type { IngestContext } from './ingest-context';

/** The destination's limits in force, as every forwarder replica applies them. */
export interface RateLimitsInForce {
  enabled: boolean;
  perMinute: number;
  perHour: number;
  /** A cap or a switch set at runtime (on the forwarder) overrides the environment. */
  setAtRuntime: boolean;
}

/**
 * Reads the runtime overrides the forwarders follow (POST /admin/rate-limit on the forwarder): a
 * cap set there wins over DEST_WEBHOOK_MAX_REQ_PER_MIN, a switch over DEST_WEBHOOK_RATE_LIMITING_ENABLED.
 */
export async function rateLimitsInForce(ctx: Pick<IngestContext, 'config' | 'redis'>): Promise<RateLimitsInForce> {
  const keys = redisKeys(ctx.config.keyPrefix);
  const [capOverride, switched] = await ctx.redis.mget(keys.rateCap, keys.rateLimiting);
  return limitsFrom(ctx.config, capOverride, switched);
}

/** The same, from overrides already read (with other keys, in one round trip). */
export function limitsFrom(config: IngestContext['config'], capOverride: string | null, switched: string | null): RateLimitsInForce {
  const limits = limitsInForce({ enabled: config.destRateLimitingEnabled, perMinute: config.destMaxReqPerMin }, capOverride, switched);
  return {
    enabled: limits.enabled,
    perMinute: limits.perMinute,
    perHour: config.destMaxReqPerHour,
    setAtRuntime: limits.capSetAtRuntime || limits.switchedAtRuntime,
  };
}
