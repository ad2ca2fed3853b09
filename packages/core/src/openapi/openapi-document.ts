import { z } from 'zod';
import type { AuthScheme, MountedRoute, Route, RouteDocs, ServiceApi } from '../http-route';
import { ErrorSchema } from '../schemas';
import { REQUEST_ID_HEADER, SAFE_REQUEST_ID } from '../request-id';

const REQUEST_ID_TEXT = "Every answer carries an `X-Request-Id` header: the request's own when it sent a safe one (1 to 128 of A–Z a–z 0–9 . _ : -), else a fresh UUID. The service's log lines about the request carry it as `request_id`.";

/** The version every service's document states: the API of this repository, not of a release. */
export const API_VERSION = '0.1.0';

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

/** The schemes every service may use; a service adds its own (ingest's console cookie) in `securitySchemes`. */
const CORE_SECURITY_SCHEMES: Partial<Record<AuthScheme, Record<string, unknown>>> = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
  finvizUpdateToken: { type: 'http', scheme: 'bearer', description: 'FINVIZ_UPDATE_TOKEN' },
  webhookSecret: { type: 'apiKey', in: 'header', name: 'X-Webhook-Secret', description: 'WEBHOOK_SECRET (or the JSON field "secret"); required when it is set' },
};

/** Credentials OpenAPI has no scheme for: said in the operation's description instead. */
const UNSCHEMED: Partial<Record<AuthScheme, string>> = {
  tokenInBody: 'Auth: the JSON field `token` holds ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN.',
  senderAddress: 'Auth: when WEBHOOK_ALLOWED_IPS is set, only those sender addresses may post (others get 403).',
};

/** The operation's extension that marks a mounted app answering every path under its own. */
export const MOUNTED_PREFIX = 'x-mounted-prefix';

const REQUEST_ID_HEADERS = { [REQUEST_ID_HEADER]: { $ref: '#/components/headers/RequestId' } };

/** One operation's source: a route of the table or a mounted page, reduced to what the document needs. */
interface Operation {
  method: Route['method'];
  path: string;
  accepts: AuthScheme[];
  docs: RouteDocs;
  params?: z.ZodType;
  query?: z.ZodType;
  request?: z.ZodType;
  mediaTypes?: string[];
  /** A mounted app answering everything under the path. */
  prefix?: boolean;
}

const fromRoute = (route: Route): Operation => ({
  method: route.method, path: route.path, accepts: (route.guards ?? []).flatMap((guard) => guard.accepts), docs: route.docs,
  params: route.params, query: route.query, request: route.request, mediaTypes: route.accepts,
});

const fromMounted = (mounted: MountedRoute): Operation => ({
  method: mounted.method, path: mounted.path, accepts: mounted.auth, mediaTypes: mounted.bodyTypes, prefix: mounted.prefix,
  docs: mounted.prefix ? { ...mounted.docs, description: [mounted.docs.description, `Also every page and call under ${mounted.path}/.`].filter(Boolean).join(' ') } : mounted.docs,
});

/** ":id" in express paths is "{id}" in OpenAPI. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** The schema's fields as OpenAPI parameters, with the schema's own types and descriptions. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query', names?: string[]) {
  const { properties = {} } = (schema ? jsonSchema(schema) : {}) as { properties?: Record<string, { description?: string }> };
  return (names ?? Object.keys(properties)).map((name) => {
    const property = properties[name];
    return {
      name, in: where, required: where === 'path', ...(property?.description ? { description: property.description } : {}), schema: property ?? { type: 'string' },
    };
  });
}

/**
 * Alternatives of OpenAPI security requirements, from the credentials the route accepts. The
 * webhook secret is optional (only when WEBHOOK_SECRET is set); a token in the body and the
 * sender's address have no OpenAPI scheme and are said in the description instead.
 */
function security(accepts: AuthScheme[], schemes: Record<string, unknown>) {
  const named = [...new Set(accepts)].filter((scheme) => !(scheme in UNSCHEMED));
  for (const scheme of named) if (!(scheme in schemes)) throw new Error(`security scheme "${scheme}" is used by a route but not defined`);
  if (!named.length) return undefined;
  const alternatives = named.map((scheme) => ({ [scheme]: [] }));
  return named.includes('webhookSecret') ? [{}, ...alternatives] : alternatives;
}

function responses(docs: RouteDocs) {
  const { ok } = docs;
  const okContent = ok.contentType
    ? { [ok.contentType]: { schema: { type: 'string' } } }
    : ok.body ? { 'application/json': { schema: jsonSchema(ok.body) } } : null;
  const answers: Record<string, unknown> = { [ok.status]: { description: ok.description, headers: REQUEST_ID_HEADERS, ...(okContent ? { content: okContent } : {}) } };
  for (const [status, error] of Object.entries(docs.errors)) {
    const [description, schema] = typeof error === 'string' ? [error, { $ref: '#/components/schemas/Error' }] : [error.description, jsonSchema(error.body)];
    answers[status] = { description, headers: REQUEST_ID_HEADERS, content: { 'application/json': { schema } } };
  }
  return answers;
}

function operation(op: Operation, schemes: Record<string, unknown>) {
  const { docs } = op;
  const pathNames = [...op.path.matchAll(/:(\w+)/g)].map(([, name]) => name);
  const allParameters = [...parameters(op.params, 'path', pathNames), ...parameters(op.query, 'query')];
  const body = op.request ?? docs.body;
  const mediaTypes = op.mediaTypes ?? ['application/json'];
  const requirements = security(op.accepts, schemes);
  const description = [docs.description, ...op.accepts.map((scheme) => UNSCHEMED[scheme])].filter(Boolean).join('\n\n');
  return {
    tags: [docs.tag ?? (op.path.split('/')[1] || '/').replace(/\.\w+$/, '')],
    summary: docs.summary,
    ...(description ? { description } : {}),
    ...(allParameters.length ? { parameters: allParameters } : {}),
    ...(body ? { requestBody: { required: true, content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: jsonSchema(body) }])) } } : {}),
    responses: responses(docs),
    ...(requirements ? { security: requirements } : {}),
    // Says, for a reader and for the completeness tests, that the path is a mounted app's root.
    ...(op.prefix ? { [MOUNTED_PREFIX]: true } : {}),
  };
}

/**
 * The OpenAPI 3.1 document of one service: every route it registers (`routes`: its table and the
 * routes core adds to every service) and every page it mounts, each with the schemas it validates
 * with and the credentials its guards accept.
 */
export function buildOpenApi(api: ServiceApi, routes: Route[]) {
  const schemes = { ...CORE_SECURITY_SCHEMES, ...api.securitySchemes };
  const operations = [...routes.map(fromRoute), ...(api.mounted ?? []).map(fromMounted)];
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const item = (paths[openApiPath(op.path)] ??= {});
    if (item[op.method]) throw new Error(`${op.method.toUpperCase()} ${op.path} is declared twice`);
    item[op.method] = operation(op, schemes);
  }
  const used = new Set(operations.flatMap((op) => op.accepts));
  return {
    openapi: '3.1.0',
    info: {
      title: `tsp ${api.service}`,
      version: API_VERSION,
      description: `${api.about}\n\n${REQUEST_ID_TEXT}`,
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorSchema) },
      headers: { RequestId: { description: REQUEST_ID_TEXT, schema: { type: 'string', pattern: SAFE_REQUEST_ID.source } } },
      securitySchemes: Object.fromEntries(Object.entries(schemes).filter(([name]) => used.has(name as AuthScheme))),
    },
  };
}
