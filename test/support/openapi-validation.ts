/** Runs validate-openapi.mjs (@seriousme/openapi-schema-validator, ES modules only) in a node of its own. */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MOUNTED_PREFIX, type ServingHttp } from '@tsp/core';

export interface OpenApiValidation {
  valid: boolean;
  /** The OpenAPI version the document was validated as ("3.1"). */
  version: string;
  errors: unknown[];
}

export function validateOpenApi(document: unknown): OpenApiValidation {
  const result = spawnSync(process.execPath, [path.join(__dirname, 'validate-openapi.mjs')], { input: JSON.stringify(document), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`validate-openapi.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as OpenApiValidation;
}

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: string | string[];
  name: string;
}

/**
 * What an express app really answers, read from its router: "GET /signals/{id}" for each route,
 * "USE /admin/queues" for each app mounted under a path (Bull Board). Middleware that runs for
 * every path (the request id, error handlers) is not a route and is left out.
 */
export function registeredOperations(app: ServingHttp['app']): string[] {
  const stack = (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
  const operations = new Set<string>();
  for (const layer of stack) {
    const paths = [layer.route?.path ?? layer.rawPath ?? '/'].flat();
    for (const path of paths) {
      const openApiPath = path.replace(/:(\w+)/g, '{$1}');
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') operations.add(`${method.toUpperCase()} ${openApiPath}`);
      } else if (path !== '/') {
        operations.add(`USE ${openApiPath}`);
      }
    }
  }
  return [...operations].sort();
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Record<string, unknown>>>;
}

/** The operations an OpenAPI document lists, "GET /signals/{id}"; a mounted app's root as "USE /admin/queues". */
export function documentedOperations(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, operations]) => Object.entries(operations).map(([method, op]) => (
    op[MOUNTED_PREFIX] ? `USE ${path}` : `${method.toUpperCase()} ${path}`
  ))).sort();
}

/** Every operation under /admin that names no credential: "GET /admin/state" (none should). */
export function adminOperationsWithoutSecurity(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, operations]) => Object.entries(operations)
    .filter(([, op]) => path.startsWith('/admin/') && path !== '/admin/login' && !(Array.isArray(op.security) && op.security.length > 0 && op.security.every((alt) => Object.keys(alt as object).length > 0)))
    .map(([method]) => `${method.toUpperCase()} ${path}`));
}

/** The copy of a service's document that `pnpm build` wrote for ingest's /docs (services/ingest/dist/api-docs). */
export function presentedApiDocument(service: string): OpenApiDocument & { servers?: unknown } {
  const file = path.join(__dirname, '..', '..', 'services', 'ingest', 'dist', 'api-docs', `${service}.json`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run pnpm build (scripts/build-api-docs.js writes it)`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
