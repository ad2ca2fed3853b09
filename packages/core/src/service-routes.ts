import { z } from 'zod';
import type { Registry } from 'prom-client';
import type { HttpResponse, Route, ServiceApi } from './http-route';
import { withTimeout } from './with-timeout';
import { cachedFor } from './cached-for';
import { buildOpenApi } from './openapi/openapi-document';
import { docsAsset, docsPage, DOCS_ASSET_NAMES, type DocsAsset } from './openapi/api-docs-page';

export type ReadinessCheck = () => Promise<void>;

/** What a running service answers /ready, /status and /metrics from. */
export interface ServiceProbes {
  /** Named dependencies checked by /ready; each throws when its dependency is down. */
  readiness: Record<string, ReadinessCheck>;
  /** Extra reasons the service is not ready (e.g. missing destination), null when none. */
  notReadyReason?: () => string | null;
  status: () => Promise<unknown>;
  metrics: Registry;
}

const DEPENDENCY_TIMEOUT_MS = 2000;
const METRICS_CACHE_MS = 1000;

const HealthSchema = z.object({ status: z.literal('ok'), service: z.string() });
const ReadySchema = z.object({ status: z.literal('ready'), service: z.string() });
const NotReadySchema = z.object({
  status: z.literal('not_ready'),
  service: z.string(),
  failing: z.record(z.string(), z.string()).describe('each failing dependency (redis, postgres) or "config", with why'),
});
const ServiceParamsSchema = (services: string[]) => z.object({ service: z.enum(services as [string, ...string[]]).describe('the service whose document to read') });

/**
 * The routes core gives every service, declared as route entries like the service's own, so its
 * OpenAPI document lists them and the app registers them the same way: liveness, readiness,
 * status, metrics, and the API description (/openapi.json, read by /docs). All are public: they
 * name no secret, and a probe or a scraper has no token. None reads a body (a probe that sends
 * one is still answered).
 */
export function builtInRoutes(api: ServiceApi, probes: ServiceProbes): Route[] {
  // A scrape reads Redis for the relay's counters: computed at most once a second, however often asked.
  const metrics = cachedFor(METRICS_CACHE_MS, () => probes.metrics.metrics());
  let document: unknown = null;
  const presented = Object.keys(api.presents ?? {});
  const documents = [
    { name: api.service, url: '/openapi.json' },
    ...presented.map((service) => ({ name: service, url: `/openapi/${service}` })),
  ];
  const tag = 'operations';
  const routes: Route[] = [
    {
      method: 'get', path: '/health', body: 'none', handler: () => ({ status: 200, body: { status: 'ok', service: api.service } }),
      docs: { tag, summary: 'Liveness: 200 while the process runs', ok: { status: 200, body: HealthSchema, description: 'alive' }, errors: {} },
    },
    {
      method: 'get', path: '/ready', body: 'none', handler: () => ready(api.service, probes),
      docs: {
        tag, summary: 'Readiness: 200 only when the dependencies this service uses answer (Redis, and Postgres where it uses it)',
        ok: { status: 200, body: ReadySchema, description: 'ready' },
        errors: { 503: { description: 'not ready: the failing dependencies named', body: NotReadySchema } },
      },
    },
    {
      method: 'get', path: '/status', body: 'none', handler: async () => ({ status: 200, body: await probes.status() }),
      docs: { tag, summary: "This service's state as JSON", ok: { status: 200, body: api.statusSchema ?? z.looseObject({}).describe('see the README'), description: 'the state' }, errors: {} },
    },
    {
      method: 'get', path: '/metrics', body: 'none', handler: async () => ({ status: 200, text: await metrics(), contentType: probes.metrics.contentType }),
      docs: { tag, summary: 'Prometheus metrics (text format), computed at most once a second', ok: { status: 200, contentType: 'text/plain', description: 'Prometheus text exposition format' }, errors: {} },
    },
    {
      method: 'get', path: '/openapi.json', body: 'none', handler: () => ({ status: 200, body: (document ??= apiDocument(api)) }),
      docs: { tag: 'docs', summary: 'This document: OpenAPI 3.1, generated from the zod schemas of the route table', ok: { status: 200, description: 'OpenAPI 3.1' }, errors: {} },
    },
    {
      method: 'get', path: '/docs', body: 'none', handler: () => docsPage(`tsp ${api.service} — API`, documents),
      docs: {
        tag: 'docs', summary: `A readable rendering of /openapi.json (Swagger UI)${presented.length ? `, with the documents of ${presented.join(', ')} in its drop-down` : ''}`,
        ok: { status: 200, contentType: 'text/html', description: 'the page' }, errors: {},
      },
    },
    {
      method: 'get', path: '/docs/assets/:file', body: 'none', handler: (req) => docsAsset(req.params.file as DocsAsset),
      params: z.object({ file: z.enum(DOCS_ASSET_NAMES).describe("one of the page's files") }),
      docs: { tag: 'docs', summary: "The /docs page's scripts and stylesheet, served from here (no CDN)", ok: { status: 200, contentType: 'text/javascript', description: 'the file' }, errors: { 400: 'no such file' } },
    },
  ];
  if (presented.length) {
    routes.push({
      method: 'get', path: '/openapi/:service', body: 'none', handler: (req) => ({ status: 200, body: api.presents![req.params.service] }),
      params: ServiceParamsSchema(presented),
      docs: {
        tag: 'docs', summary: `The OpenAPI document of another service (${presented.join(', ')}), as that service serves it at its own /openapi.json, written when tsp was built`,
        ok: { status: 200, description: 'OpenAPI 3.1' }, errors: { 400: 'not one of the services presented here' },
      },
    });
  }
  return routes;
}

async function ready(service: string, probes: ServiceProbes): Promise<HttpResponse> {
  const failing = await failingDependencies(probes);
  return Object.keys(failing).length === 0
    ? { status: 200, body: { status: 'ready', service } }
    : { status: 503, body: { status: 'not_ready', service, failing } };
}

/** What /ready checks: each failing dependency (or "config") with why; empty when ready. */
export async function failingDependencies(probes: ServiceProbes): Promise<Record<string, string>> {
  const failing: Record<string, string> = {};
  await Promise.all(
    Object.entries(probes.readiness).map(async ([name, check]) => {
      try {
        await withTimeout(check(), DEPENDENCY_TIMEOUT_MS);
      } catch (error) {
        failing[name] = (error as Error).message || 'unreachable';
      }
    }),
  );
  const reason = probes.notReadyReason?.() ?? null;
  if (reason) failing.config = reason;
  return failing;
}

/**
 * A dependency of a route table built only to be described (scripts/build-api-docs.js): building
 * the table only passes it along, so any use of it is a mistake, and says which dependency.
 */
export function describedOnly<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(`${what}.${String(property)} used by a route table built only to be described`);
    },
  });
}

const DESCRIBED_ONLY: ServiceProbes = { readiness: {}, status: describedOnly('status'), metrics: describedOnly('metrics') };

/**
 * The OpenAPI document of a service: its own routes and the ones core adds. What its
 * /openapi.json answers, and what scripts/build-api-docs.js writes for ingest's /docs.
 */
export function apiDocument(api: ServiceApi) {
  // The service's own routes first: what a reader opens /docs for.
  return buildOpenApi(api, [...api.routes, ...builtInRoutes(api, DESCRIBED_ONLY)]);
}
