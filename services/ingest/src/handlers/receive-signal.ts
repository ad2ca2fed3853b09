import { errorResponse, secretsEqual, signalJobOptions, unavailableResponse, type HttpRequest, type HttpResponse, type SignalJob } from '@tsp/core';
import type { IngestContext } from '../ingest-context';
import { normaliseSignal, newSignalId } from '../signal/normalise-signal';
import { idempotencyKeyOf } from '../signal/idempotency';
import { parseSignalBody } from '../signal/parse-signal-body';


/**
 * POST /webhook/in. Answers 202 only once the signal is a job in Redis; every error path
 * returns before anything is enqueued.
 */
export function receiveSignal(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    if (!ctx.isAllowedIp(req.ip)) {
      return errorResponse(403, 'forbidden', `Address ${req.ip} may not post signals (WEBHOOK_ALLOWED_IPS)`);
    }
    const parsed = parseSignalBody(req.body);
    if (!parsed.ok) return errorResponse(400, 'invalid_json', parsed.message);
    const { input } = parsed;

    if (ctx.config.webhookSecret) {
      const given = typeof input.secret === 'string' ? input.secret : req.headers['x-webhook-secret'];
      if (!secretsEqual(given, ctx.config.webhookSecret)) {
        return errorResponse(401, 'unauthorized', 'Missing or wrong webhook secret (field "secret" or header X-Webhook-Secret)');
      }
    }

    const receivedAt = new Date();
    const result = normaliseSignal(input, receivedAt);
    if (!result.ok) {
      ctx.metrics.invalid.inc();
      return errorResponse(400, 'invalid_signal', `Invalid signal: ${result.errors.map((e) => e.field).join(', ')}`, result.errors);
    }

    if (ctx.queueDepth.current >= ctx.config.queueMaxSize) {
      return unavailableResponse(`Queue full: ${ctx.queueDepth.current} signals waiting (QUEUE_MAX_SIZE ${ctx.config.queueMaxSize})`);
    }

    const id = newSignalId();
    const key = idempotencyKeyOf(req.headers['idempotency-key'], input);
    try {
      if (key) {
        const firstId = await ctx.idempotency.claim(key, id);
        if (firstId) return { status: 200, body: { id: firstId, status: 'duplicate' } };
      }
      const job: SignalJob = { id, receivedAt: receivedAt.toISOString(), ...result.signal, ...(key ? { idempotencyKey: key } : {}) };
      try {
        await ctx.signalsQueue.add('signal', job, signalJobOptions(id));
      } catch (error) {
        if (key) await ctx.idempotency.release(key, id).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      ctx.logger.warn('could not enqueue signal', { error: (error as Error).message });
      return unavailableResponse('Redis is unavailable; the signal was not accepted, send it again');
    }

    ctx.metrics.received.inc();
    // The price is remembered for manual exits, which carry the last known one.
    ctx.received.add(result.signal.ticker, result.signal.price);
    return { status: 202, body: { id, status: 'queued' } };
  };
}
