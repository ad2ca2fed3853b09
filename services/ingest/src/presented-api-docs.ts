import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '@tsp/core';

/** The services whose documents ingest presents at /docs beside its own. */
const OTHER_SERVICES = ['screener', 'approver', 'forwarder'];

/**
 * Where scripts/build-api-docs.js writes them when tsp is built: services/ingest/dist/api-docs
 * (`../dist/api-docs` from src/ and from dist/ alike).
 */
export const PRESENTED_API_DOCS_DIR = path.resolve(__dirname, '..', 'dist', 'api-docs');

/**
 * The other services' OpenAPI documents, written from their route tables at build time: ingest is
 * the one port an operator usually reaches (the others are internal), and services never import
 * one another, so it presents copies rather than asking them. One missing leaves /docs with the
 * rest, and says so.
 */
export function readPresentedApiDocs(logger: Logger, dir = PRESENTED_API_DOCS_DIR): Record<string, unknown> {
  const documents: Record<string, unknown> = {};
  for (const service of OTHER_SERVICES) {
    const file = path.join(dir, `${service}.json`);
    try {
      documents[service] = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      logger.warn(`the ${service}'s API document is not at ${file} (run pnpm build); /docs shows the others`, { error: (error as Error).message });
    }
  }
  return documents;
}
