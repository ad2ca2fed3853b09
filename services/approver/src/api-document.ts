import { apiDocument, describedOnly, type Config } from '@tsp/core';
import { APPROVER_ABOUT, approverRoutes } from './routes';

/**
 * The approver's OpenAPI document as it serves it at /openapi.json, built without running it:
 * scripts/build-api-docs.js writes it for ingest's /docs. The route table is the one service.ts
 * builds; its dependencies are only passed along, never used, while it is described.
 */
export function serviceApiDocument(config: Config) {
  return apiDocument({ service: 'approver', about: APPROVER_ABOUT, routes: approverRoutes(config, describedOnly('topn')) });
}
