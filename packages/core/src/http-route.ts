import type { ErrorBody } from './schemas';

/** What a handler sees: plain data, no framework object, so handlers are tested without a server. */
export interface HttpRequest {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  /** Parsed JSON body, or the raw text for routes that read `rawText`. */
  body: unknown;
  ip: string;
  /** Set by a route's guard (e.g. "admin"). */
  principal?: string;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as-is instead of JSON (for example Prometheus text). */
  text?: string;
  contentType?: string;
}

export type Handler = (req: HttpRequest) => Promise<HttpResponse> | HttpResponse;

/** A guard answers a response to refuse the request, or null to let it through. */
export type Guard = (req: HttpRequest) => HttpResponse | null;

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  handler: Handler;
  guard?: Guard;
  /**
   * How the body is read: "json" (application/json only), "rawText" (the body as a string, for
   * handlers that accept several content types), or "none".
   */
  body?: 'json' | 'rawText' | 'none';
  /** Body size limit, express syntax (default 100kb). */
  limit?: string;
  /** Content types accepted by "rawText" routes. */
  accepts?: string[];
}

export function errorResponse(status: number, error: string, message: string, details?: unknown[]): HttpResponse {
  const body: ErrorBody = { error, message };
  if (details) body.details = details;
  return { status, body };
}

/** How long a client should wait before sending again after a 503. */
export const RETRY_AFTER_SEC = 5;

/** 503 with Retry-After: a dependency is down, nothing was done, the same request may be sent again. */
export function unavailableResponse(message: string, details?: unknown[]): HttpResponse {
  return { ...errorResponse(503, 'unavailable', message, details), headers: { 'Retry-After': String(RETRY_AFTER_SEC) } };
}
