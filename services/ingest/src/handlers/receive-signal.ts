import { errorResponse, requestLogger, unavailableResponse, type HttpRequest, type HttpResponse, type ParsedBody, type SignalJob } from '@tsp/core';
import type { IngestContext } from '../ingest-context';
import { normaliseSignal, newSignalId } from '../signal/normalise-signal';
import { idempotencyKeyOf } from '../signal/idempotency';
import { parseSignalBody } from '../signal/parse-signal-body';

/** The route's body parser: the text of the request as an object, or 400 (before any guard reads it). */
export function parseWebhookBody(raw: string): ParsedBody {
  const parsed = parseSignalBody(raw);
  return parsed.ok ? { ok: true, value: parsed.input } : { ok: false, response: errorResponse(400, 'invalid_json', parsed.message) };
}

/** Why no signal can be accepted right now (ingest answers 503 with Retry-After), or null. */
export function backPressure(ctx: IngestContext): string | null {
  const { signalsWaiting, auditOutbox } = ctx.backlog;
  if (signalsWaiting >= ctx.config.queueMaxSize) return `Queue full: ${signalsWaiting} signals waiting (QUEUE_MAX_SIZE ${ctx.config.queueMaxSize})`;
  if (auditOutbox >= ctx.config.auditOutboxMax) return `The audit trail is behind: ${auditOutbox} records wait for Postgres (AUDIT_OUTBOX_MAX ${ctx.config.auditOutboxMax})`;
  return null;
}

/**
 * POST /webhook/in (the sender already passed the route's guards). Answers 202 only once the
 * signal is a job in Redis; every error path returns before anything is enqueued.
 */
export function receiveSignal(ctx: IngestContext) {
  return async (req: HttpRequest<unknown, Record<string, unknown>>): Promise<HttpResponse> => {
    const input = req.body;
    const receivedAt = new Date();
    const result = normaliseSignal(input, receivedAt);
    const key = idempotencyKeyOf(req.headers['idempotency-key'], input);
    if (!result.ok || !key.ok) {
      ctx.metrics.invalid.inc();
      const errors = [...(result.ok ? [] : result.errors), ...(key.ok ? [] : [{ field: 'id', message: key.message }])];
      return errorResponse(400, 'invalid_signal', `Invalid signal: ${errors.map((e) => e.field).join(', ')}`, errors);
    }

    const busy = backPressure(ctx);
    if (busy) return unavailableResponse(busy);

    const signal: SignalJob = { id: newSignalId(), receivedAt: receivedAt.toISOString(), ...result.signal };
    let intake;
    try {
      intake = await ctx.intake.accept(signal, { idempotencyKey: key.key, requestId: req.requestId });
    } catch (error) {
      requestLogger(ctx.logger, req.requestId).warn('could not enqueue signal', { error: (error as Error).message });
      return unavailableResponse('Redis is unavailable; the signal was not accepted, send it again');
    }
    if (intake.status === 'duplicate') return { status: 200, body: intake };

    ctx.metrics.received.inc();
    // The price is remembered for manual exits, which carry the last known one.
    ctx.received.add(signal.ticker, signal.price);
    return { status: 202, body: intake };
  };
}
