import { DependencyUnavailableError, requestLogger, withTimeout, type Handler } from '@tsp/core';
import { pingPostgres } from '@tsp/db';
import type { IngestContext } from './ingest-context';

const PING_TIMEOUT_MS = 2000;

/**
 * Wraps a handler that reads Postgres: when it fails and Postgres does not answer a ping, the
 * failure is an outage (503 with Retry-After, by the server), not a bug (500). Composed on the
 * route entry, so handlers hold no try/catch of their own for it.
 */
export function postgresProvider(ctx: IngestContext) {
  return <H extends Handler>(handler: H): H =>
    (async (req) => {
      try {
        return await handler(req);
      } catch (error) {
        if (error instanceof DependencyUnavailableError) throw error;
        const down = await withTimeout(pingPostgres(ctx.prisma), PING_TIMEOUT_MS).then(() => false, () => true);
        if (!down) throw error;
        requestLogger(ctx.logger, req.requestId).warn('Postgres is unavailable', { error: (error as Error).message });
        throw new DependencyUnavailableError('postgres', 'Postgres is unavailable; try again shortly');
      }
    }) as H;
}
