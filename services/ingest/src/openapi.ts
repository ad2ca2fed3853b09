import { z } from 'zod';
import type { Route } from '@tsp/core';
import { API_DOCS, type RouteDoc } from './api-docs';
import { ErrorSchema } from './api-schemas';

const SECURITY: Record<RouteDoc['auth'], Record<string, string[]>[] | undefined> = {
  admin: [{ adminToken: [] }, { adminCookie: [] }],
  finviz: [{ finvizUpdateToken: [] }, { adminToken: [] }],
  webhook: [{}, { webhookSecret: [] }],
  token_in_body: [],
  none: [],
};

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

export const UNDOCUMENTED: RouteDoc = { summary: 'undocumented', auth: 'none', ok: { status: 200, description: 'undocumented' }, errors: {} };

/** ":id" in express paths is "{id}" in OpenAPI. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

function operation(route: Route, doc: RouteDoc) {
  const parameters = [
    ...[...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(doc.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } })),
  ];
  const responses: Record<string, unknown> = {
    [doc.ok.status]: { description: doc.ok.description, ...(doc.ok.body ? { content: { 'application/json': { schema: jsonSchema(doc.ok.body) } } } : {}) },
  };
  for (const [status, description] of Object.entries(doc.errors)) {
    responses[status] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const mediaTypes = route.accepts ?? ['application/json'];
  return {
    summary: doc.summary,
    ...(parameters.length ? { parameters } : {}),
    ...(doc.request ? { requestBody: { required: true, content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: jsonSchema(doc.request!) }])) } } : {}),
    responses,
    ...(SECURITY[doc.auth]?.length ? { security: SECURITY[doc.auth] } : {}),
  };
}

/** The OpenAPI 3.1 document of ingest's routes, from the route table and the zod schemas. */
export function buildOpenApi(routes: Route[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    // A route missing from API_DOCS still appears, flagged, so the omission shows (and fails a test).
    const doc = API_DOCS[`${route.method.toUpperCase()} ${route.path}`] ?? UNDOCUMENTED;
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route, doc);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'tsp — trading-signal relay, public API (ingest)', version },
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorSchema) },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        adminCookie: { type: 'apiKey', in: 'cookie', name: 'tsp_admin', description: 'set by the /admin login form' },
        finvizUpdateToken: { type: 'http', scheme: 'bearer', description: 'FINVIZ_UPDATE_TOKEN' },
        webhookSecret: { type: 'apiKey', in: 'header', name: 'X-Webhook-Secret', description: 'WEBHOOK_SECRET (or the JSON field "secret")' },
      },
    },
  };
}
