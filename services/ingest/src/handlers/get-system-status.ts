import { QUEUE, readTopnSet, redisKeys, topnAgeSec, isTopnStale } from '@tsp/core';
import type { Queue } from 'bullmq';
import type { IngestContext } from '../ingest-context';
import { webhookAuthStatus } from '../webhook-auth-status';

const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;

function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
}

async function queueSummary(queue: Queue) {
  const [counts, workers] = await Promise.all([queue.getJobCounts(...JOB_STATES), queue.getWorkersCount()]);
  return { counts, workers };
}

/** GET /status of ingest: the whole relay, read from Redis, as any replica sees it. */
export function getSystemStatus(ctx: IngestContext) {
  return async () => {
    const keys = redisKeys(ctx.config.keyPrefix);
    const [signals, forward, counters, topn, capOverride, deliveryPaused, auditBacklog] = await Promise.all([
      queueSummary(ctx.signalsQueue),
      queueSummary(ctx.forwardQueue),
      ctx.stats.read(),
      readTopnSet(ctx.redis, ctx.config.keyPrefix),
      ctx.redis.get(keys.rateCap),
      ctx.forwardQueue.isPaused(),
      ctx.redis.llen(keys.auditOutbox),
    ]);
    return {
      service: 'ingest',
      queues: { [QUEUE.signals]: signals.counts, [QUEUE.forward]: forward.counts },
      workers: { approver: signals.workers, forwarder: forward.workers },
      counters,
      approval_rate_percent: percent(counters.approved, counters.approved + counters.rejected),
      forward_success_rate_percent: percent(counters.forwarded, counters.forwarded + counters.dead),
      signals_per_minute: counters.signals_per_minute,
      topn: topn
        ? { count: topn.tickers.length, top_n: topn.top_n, fetched_at: topn.fetched_at, age_sec: Math.round(topnAgeSec(topn) * 10) / 10, stale: isTopnStale(topn, ctx.config.topnMaxAgeSec), snapshot_id: topn.snapshot_id }
        : null,
      // A cap set at runtime on the forwarder wins over the environment, for every replica.
      rate_limiter: { enabled: ctx.config.destRateLimitingEnabled, max_per_min: Number(capOverride) || ctx.config.destMaxReqPerMin, set_at_runtime: capOverride !== null },
      delivery_paused: deliveryPaused,
      audit_outbox: auditBacklog,
      ...webhookAuthStatus(ctx.config),
    };
  };
}
