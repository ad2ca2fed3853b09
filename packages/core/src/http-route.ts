import type { z } from 'zod';
import type { ErrorBody } from './schemas';

/** What a handler sees: plain data, no framework object, so handlers are tested without a server. */
export interface HttpRequest<Query = Record<string, string | undefined>, Body = unknown> {
  method: string;
  params: Record<string, string>;
  /** The query string; the route's `query` schema's output when it declares one. */
  query: Query;
  headers: Record<string, string | undefined>;
  /** Parsed JSON body, the raw text for "rawText" routes, or the route's `request` schema's output. */
  body: Body;
  ip: string;
  /** The request's id (X-Request-Id): its handler's log lines carry it (requestLogger). Absent where a handler is called without a server. */
  requestId?: string;
  /** Which credential a guard accepted (e.g. "ADMIN_TOKEN"): the audit's "who". */
  principal?: string;
  /** How that credential was presented (Bearer token, session cookie, token in the body): the admin-action log's token kind. */
  credential?: AuthScheme;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as-is instead of JSON (for example Prometheus text). */
  text?: string;
  /**
   * Sent piece by piece as it is produced, instead of JSON (exports): the server waits for the
   * client to take each piece before asking for the next, so a slow reader holds no backlog.
   */
  stream?: AsyncIterable<string>;
  contentType?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each route's handler declares its own query and body types
export type Handler<Query = any, Body = any> = (req: HttpRequest<Query, Body>) => Promise<HttpResponse> | HttpResponse;

/** The credentials a route accepts, as the OpenAPI document names them. */
export type AuthScheme = 'adminToken' | 'adminSession' | 'finvizUpdateToken' | 'webhookSecret' | 'tokenInBody' | 'senderAddress';

/**
 * Lets a request through (null) or answers for it. Guards sit on the route entry, never inside
 * handlers, so the route table shows who may call what; `accepts` documents it.
 */
export interface Guard {
  accepts: AuthScheme[];
  /** It reads the parsed body (a secret in a JSON field): it runs after the route's parser; others run before. */
  readsBody?: boolean;
  check(req: HttpRequest): HttpResponse | null | Promise<HttpResponse | null>;
}

/** What the OpenAPI document says of a route beyond its schemas. */
export interface RouteDocs {
  summary: string;
  /** More than a line, when the summary cannot say it all. */
  description?: string;
  /** The group the route is listed under in /docs (default: the first segment of its path). */
  tag?: string;
  /** The body as documented, when the route reads it itself (rawText routes) rather than through `request`. */
  body?: z.ZodType;
  /** `contentType`: what a non-JSON answer is (an export's text/csv). */
  ok: { status: number; body?: z.ZodType; description: string; contentType?: string };
  /**
   * Other statuses this route answers: a description (the body is the contract's JSON error), or a
   * description and the body's own schema (a /ready that is not ready).
   */
  errors: Record<number, string | { description: string; body: z.ZodType }>;
}

/** The outcome of a route's own body parser: the value, or the answer to send instead. */
export type ParsedBody = { ok: true; value: unknown } | { ok: false; response: HttpResponse };

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  handler: Handler;
  /**
   * Checked in order: those that need no body before the route's parser runs (a sender refused by
   * address costs no parsing), those that read it after; all before the body is validated.
   */
  guards?: Guard[];
  /**
   * How the body is read: "json" (application/json only), "rawText" (the body as a string, for
   * routes that accept several content types and parse it with `parse`), or "none".
   */
  body?: 'json' | 'rawText' | 'none';
  /** Body size limit, express syntax (default 100kb: bodyLimitOf). */
  limit?: string;
  /** Content types accepted by "rawText" routes (default JSON and plain text: rawTextTypesOf). */
  accepts?: string[];
  /**
   * Served by plain node:http ahead of express (plain-route-server.ts), for a hot route where
   * express's own cost per request shows: the answers are the same as express gives. Only for a
   * "rawText" route of a fixed path (no parameters) that answers JSON or nothing; anything else is
   * refused when the app is created.
   */
  plainHttp?: boolean;
  /** Turns a rawText body into a value before the guards run (a guard may read a field of it). */
  parse?: (raw: string) => ParsedBody;
  /** Validates the path's parameters (400 invalid_params naming each); the handler gets its output. */
  params?: z.ZodType;
  /** Validates the query string (400 invalid_query naming each field); the handler gets its output. */
  query?: z.ZodType;
  /** Validates the JSON body (400 `invalidBody` naming each field); the handler gets its output. */
  request?: z.ZodType;
  /** The error code of a body that fails `request` (default "invalid_request"). */
  invalidBody?: string;
  /** Required: the OpenAPI document lists every route, so an undocumented one does not compile. */
  docs: RouteDocs;
}

/**
 * A page or app that a service mounts outside its route table (ingest's console, Bull Board), as
 * the OpenAPI document lists it: the document covers everything the service answers.
 */
export interface MountedRoute {
  method: Route['method'];
  path: string;
  /** The app answers every path under `path` (Bull Board's pages and calls), not this path alone. */
  prefix?: boolean;
  /** The credentials it accepts, as a guard's `accepts` would say ([]: anyone). */
  auth: AuthScheme[];
  /** The content types of its body, when it reads one (default application/json). */
  bodyTypes?: string[];
  docs: RouteDocs;
}

/** A route's body size limit, as both ways of serving it (express, plain-route-server.ts) read it. */
export function bodyLimitOf(route: Route): string {
  return route.limit ?? '100kb';
}

/** The content types a "rawText" route reads its body from. */
export function rawTextTypesOf(route: Route): string[] {
  return route.accepts ?? ['application/json', 'text/plain'];
}

/** What a service's OpenAPI document (GET /openapi.json) is made of. */
export interface ServiceApi {
  service: string;
  /** What the service does, in a sentence: the start of the document's description. */
  about: string;
  routes: Route[];
  mounted?: MountedRoute[];
  /** The shape of its GET /status answer, when it has a schema. */
  statusSchema?: z.ZodType;
  /** Security schemes beyond core's Bearer tokens and webhook secret (ingest's console cookie). */
  securitySchemes?: Partial<Record<AuthScheme, Record<string, unknown>>>;
  /**
   * The other services' documents that this one presents at /docs beside its own, by service
   * name (ingest, the one public port, presents all four).
   */
  presents?: Record<string, unknown>;
}

export function errorResponse(status: number, error: string, message: string, details?: unknown[]): HttpResponse {
  const body: ErrorBody = { error, message };
  if (details) body.details = details;
  return { status, body };
}

/** How long a client should wait before sending again after a 503. */
export const RETRY_AFTER_SEC = 5;

/** 503 with Retry-After: a dependency is down, nothing was done, the same request may be sent again. */
export function unavailableResponse(message: string, details?: unknown[], retryAfterSec = RETRY_AFTER_SEC): HttpResponse {
  return { ...errorResponse(503, 'unavailable', message, details), headers: { 'Retry-After': String(retryAfterSec) } };
}

/** The 400 for input whose fields do not validate, naming each field. */
export function invalidFields(error: string, what: string, issues: readonly { path: readonly PropertyKey[]; message: string; keys?: readonly string[] }[]): HttpResponse {
  // A field the schema does not know (zod's unrecognized_keys) is named by its own key, not its parent.
  const details = issues.flatMap((issue) => (issue.keys?.length ? issue.keys.map((key) => [...issue.path, key]) : [issue.path])
    .map((path) => ({ field: path.map(String).join('.') || 'body', message: issue.message })));
  return errorResponse(400, error, `Invalid ${what}: ${details.map((d) => d.field).join(', ')}`, details);
}

/**
 * Thrown by a handler (or the storage it calls) when a dependency it needs is down: the server
 * answers 503 with Retry-After, so handlers need no try/catch of their own for it.
 */
export class DependencyUnavailableError extends Error {
  constructor(readonly dependency: string, message: string) {
    super(message);
    this.name = 'DependencyUnavailableError';
  }
}
