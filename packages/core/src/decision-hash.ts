import type { ChainableCommander } from 'ioredis';
import { redisKeys } from './names';

/**
 * A signal's decision lives in a Redis hash (redisKeys.decision): the approver writes the decision
 * once; the forwarder marks the delivery, so a re-run of the approver's job (after a crash) knows
 * not to hand the signal on again once BullMQ may have cleaned the delivered job away.
 */
export const DECISION_FIELD = { decision: 'decision', delivered: 'delivered' } as const;

/** Only if the hash exists: a replay after the decision's TTL must not leave a hash with no TTL. */
const MARK_DELIVERED = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], ARGV[1], '1') end return 0`;

/** Marks the signal delivered, added to the caller's pipeline (it travels with the delivery's other writes). */
export function markDeliveredIn(pipeline: ChainableCommander, prefix: string, signalId: string): ChainableCommander {
  return pipeline.eval(MARK_DELIVERED, 1, redisKeys(prefix).decision(signalId), DECISION_FIELD.delivered);
}
