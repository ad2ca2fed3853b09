import { z } from 'zod';
import type { AuthScheme, Route, RouteDocs } from '@tsp/core';
import { ErrorSchema } from './api-schemas';
import { ADMIN_SESSION_COOKIE } from './admin-session';

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

/** A route without docs still appears, flagged, so the omission shows (and fails a test). */
export const UNDOCUMENTED: RouteDocs = { summary: 'undocumented', ok: { status: 200, description: 'undocumented' }, errors: {} };

const SECURITY_SCHEMES: Record<Exclude<AuthScheme, 'senderAddress' | 'tokenInBody'>, unknown> = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
  adminSession: { type: 'apiKey', in: 'cookie', name: ADMIN_SESSION_COOKIE, description: 'the signed, expiring session the /admin login form sets; state-changing requests also need Origin of this host' },
  finvizUpdateToken: { type: 'http', scheme: 'bearer', description: 'FINVIZ_UPDATE_TOKEN' },
  webhookSecret: { type: 'apiKey', in: 'header', name: 'X-Webhook-Secret', description: 'WEBHOOK_SECRET (or the JSON field "secret"); required when it is set' },
};

/** ":id" in express paths is "{id}" in OpenAPI. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** The query schema's fields as OpenAPI parameters, with the schema's own types and descriptions. */
function queryParameters(schema: z.ZodType | undefined) {
  if (!schema) return [];
  const { properties = {} } = jsonSchema(schema) as { properties?: Record<string, { description?: string }> };
  return Object.entries(properties).map(([name, property]) => ({
    name, in: 'query', required: false, ...(property.description ? { description: property.description } : {}), schema: property,
  }));
}

/**
 * Alternatives of OpenAPI security requirements, from the guards on the route. The webhook
 * secret is optional (only when WEBHOOK_SECRET is set); a token in the body and the sender's
 * address have no OpenAPI scheme and are said in the summary instead.
 */
function security(route: Route) {
  const schemes = (route.guards ?? []).flatMap((guard) => guard.accepts).filter((s): s is keyof typeof SECURITY_SCHEMES => s in SECURITY_SCHEMES);
  if (!schemes.length) return undefined;
  const alternatives = schemes.map((scheme) => ({ [scheme]: [] }));
  return schemes.includes('webhookSecret') ? [{}, ...alternatives] : alternatives;
}

/** The path's parameters, typed and described by the route's params schema when it has one. */
function pathParameters(route: Route) {
  const { properties = {} } = (route.params ? jsonSchema(route.params) : {}) as { properties?: Record<string, { description?: string }> };
  return [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => {
    const property = properties[name];
    return { name, in: 'path', required: true, ...(property?.description ? { description: property.description } : {}), schema: property ?? { type: 'string' } };
  });
}

function operation(route: Route) {
  const docs = route.docs ?? UNDOCUMENTED;
  const parameters = [
    ...pathParameters(route),
    ...queryParameters(route.query),
  ];
  const okContent = docs.ok.contentType
    ? { [docs.ok.contentType]: { schema: { type: 'string' } } }
    : docs.ok.body ? { 'application/json': { schema: jsonSchema(docs.ok.body) } } : null;
  const responses: Record<string, unknown> = {
    [docs.ok.status]: { description: docs.ok.description, ...(okContent ? { content: okContent } : {}) },
  };
  for (const [status, description] of Object.entries(docs.errors)) {
    responses[status] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const body = route.request ?? docs.body;
  const mediaTypes = route.accepts ?? ['application/json'];
  const requirements = security(route);
  return {
    summary: docs.summary,
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: jsonSchema(body) }])) } } : {}),
    responses,
    ...(requirements ? { security: requirements } : {}),
  };
}

/** The OpenAPI 3.1 document of ingest's routes, from the route table and its zod schemas. */
export function buildOpenApi(routes: Route[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info: { title: 'tsp — trading-signal relay, public API (ingest)', version },
    paths,
    components: { schemas: { Error: jsonSchema(ErrorSchema) }, securitySchemes: SECURITY_SCHEMES },
  };
}
