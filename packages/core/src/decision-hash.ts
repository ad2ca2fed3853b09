/**
 * A signal's decision lives in a Redis hash (redisKeys.decision): the approver writes the decision
 * once; whatever ends the signal (delivered or dead) writes `ended` in the same script that
 * records the end, so a re-run of either worker's job (after a crash or a lost reply) knows the
 * signal is done and neither hands it on again nor sends it again. `attempts` counts the failed
 * attempts at the destination, apart from the job's runs (some of which fail for reasons of our own).
 */
export const DECISION_FIELD = { decision: 'decision', ended: 'ended', attempts: 'attempts' } as const;

/** How a signal ended, as `ended` records it. */
export type SignalEnd = 'delivered' | 'dead';

/**
 * How long the hash lives: past every re-run that may need it (the approver's bounded retries,
 * DECISION_RETRY; a delivery's re-run after a lost reply, within a job lock), and short, because
 * every signal has one (see the README's "What a signal costs in Redis").
 */
export const DECISION_TTL_SEC = 900;
