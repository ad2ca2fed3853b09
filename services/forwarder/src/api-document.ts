import { apiDocument, describedOnly, type Config, type Logger } from '@tsp/core';
import { FORWARDER_ABOUT, forwarderRoutes } from './routes';

/**
 * The forwarder's OpenAPI document as it serves it at /openapi.json, built without running it:
 * scripts/build-api-docs.js writes it for ingest's /docs. The route table is the one service.ts
 * builds; its dependencies are only passed along, never used, while it is described.
 */
export function serviceApiDocument(config: Config) {
  const routes = forwarderRoutes({
    config,
    logger: describedOnly<Logger>('logger'),
    prisma: describedOnly('prisma'),
    forwardQueue: describedOnly('forwardQueue'),
    limiter: describedOnly('limiter'),
    destination: null,
    deadLetters: describedOnly('deadLetters'),
    adminActions: describedOnly('adminActions'),
  });
  return apiDocument({ service: 'forwarder', about: FORWARDER_ABOUT, routes });
}
