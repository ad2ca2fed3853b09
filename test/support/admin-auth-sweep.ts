/**
 * The sweep behind "every admin route refuses a request without auth": the routes come from the
 * service's own OpenAPI document, which core builds from its route table (each service's
 * openapi.test.ts proves the document lists exactly what the app registers), so a route added
 * tomorrow is swept without anyone listing it here.
 */
import type { OpenApiDocument } from './openapi-validation';

/** The tags of the routes core gives every service: /health, /ready, /status, /metrics, /openapi.json, /docs. Public by contract. */
const PUBLIC_TAGS = ['operations', 'docs'];

export interface SweptOperation {
  /** "POST /admin/dead/{id}/replay", as the document names it. */
  operation: string;
  method: 'get' | 'post' | 'put' | 'delete';
  /** The path with its parameters filled in. */
  path: string;
  /** The credentials the document says it takes (empty: it names none, which the sweep reports). */
  schemes: string[];
  /** A body that would be valid with credentials, for a route that reads one. */
  body?: unknown;
}

/**
 * Every operation of the document that is not one of core's public routes. `params` fills each
 * path parameter; `bodies` gives, for each operation that reads a JSON body, one that would pass
 * its validation (so a refusal is the guard's, not the validator's). A parameter or a body the
 * caller did not give throws: a new route must be given one, not skipped.
 */
export function guardedOperations(document: OpenApiDocument, params: Record<string, string>, bodies: Record<string, unknown> = {}): SweptOperation[] {
  return Object.entries(document.paths).flatMap(([template, operations]) => Object.entries(operations)
    .filter(([, op]) => !(op.tags as string[] | undefined)?.some((tag) => PUBLIC_TAGS.includes(tag)))
    .map(([method, op]) => {
      const operation = `${method.toUpperCase()} ${template}`;
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
        if (!(name in params)) throw new Error(`${operation}: give the sweep a value for {${name}}`);
        return encodeURIComponent(params[name]);
      });
      if (op.requestBody && !(operation in bodies)) throw new Error(`${operation} reads a body: give the sweep one that would be valid`);
      const security = (op.security as Record<string, unknown>[] | undefined) ?? [];
      return {
        operation, method: method as SweptOperation['method'], path,
        // An empty alternative ({}) would make the credential optional: reported as naming none.
        schemes: security.some((alt) => Object.keys(alt).length === 0) ? [] : security.flatMap(Object.keys),
        ...(op.requestBody ? { body: bodies[operation] } : {}),
      };
    }));
}

/** What a stranger, or someone with the wrong token, sends as credentials (no header at all first). */
export function wrongCredentials(token: string): { label: string; authorization?: string }[] {
  return [
    { label: 'no credentials' },
    { label: 'a wrong Bearer token', authorization: 'Bearer not-the-admin-token' },
    { label: 'the token with a character more', authorization: `Bearer ${token}x` },
    { label: 'the token without the Bearer scheme', authorization: token },
    { label: 'the token as Basic credentials', authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` },
    { label: 'an empty Bearer', authorization: 'Bearer ' },
  ];
}

/** Sends the operation over real HTTP with that Authorization header (or none): its status, and the error code of a JSON error body. */
export async function answerOf(baseUrl: string, route: SweptOperation, authorization?: string): Promise<{ status: number; error: string | null }> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (route.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${route.path}`, {
    method: route.method.toUpperCase(), headers,
    ...(route.body !== undefined ? { body: JSON.stringify(route.body) } : {}),
  });
  const text = await response.text();
  let error: string | null = null;
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body?.error === 'string') error = body.error;
  } catch {
    // Not JSON: no error code.
  }
  return { status: response.status, error };
}

/**
 * Every operation with every wrong credential, as "<operation> with <credential>: <status> <error>"
 * lines, so a failure names each route that let one through (and a refusal is the guard's
 * "unauthorized", not an answer of the handler).
 */
export async function refusals(baseUrl: string, routes: SweptOperation[], token: string): Promise<string[]> {
  const lines: string[] = [];
  for (const route of routes) {
    for (const credential of wrongCredentials(token)) {
      const { status, error } = await answerOf(baseUrl, route, credential.authorization);
      lines.push(`${route.operation} with ${credential.label}: ${status} ${error}`);
    }
  }
  return lines;
}

/** The lines `refusals` answers when every operation refuses every wrong credential with 401. */
export function allRefused(routes: SweptOperation[], token: string): string[] {
  return routes.flatMap((route) => wrongCredentials(token).map((credential) => `${route.operation} with ${credential.label}: 401 unauthorized`));
}
