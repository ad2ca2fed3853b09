import type { Logger } from './logger';
import { requestLogger } from './request-id';
import {
  DependencyUnavailableError, errorResponse, invalidFields, unavailableResponse, type HttpRequest, type HttpResponse, type Route,
} from './http-route';

/**
 * One request through its route: the guards that need no body, the route's own body parser, the
 * guards that read it, its query and body schemas, then the handler. A dependency the handler
 * finds down answers 503.
 */
export async function serveRoute(route: Route, request: HttpRequest, logger: Logger): Promise<HttpResponse> {
  const guards = route.guards ?? [];
  for (const guard of guards.filter((g) => !g.readsBody)) {
    const refusal = await guard.check(request);
    if (refusal) return refusal;
  }
  if (route.parse) {
    const parsed = route.parse(typeof request.body === 'string' ? request.body : '');
    if (!parsed.ok) return parsed.response;
    request.body = parsed.value;
  }
  for (const guard of guards.filter((g) => g.readsBody)) {
    const refusal = await guard.check(request);
    if (refusal) return refusal;
  }
  if (route.params) {
    const params = route.params.safeParse(request.params);
    if (!params.success) return invalidFields('invalid_params', 'path', params.error.issues);
    request.params = params.data as HttpRequest['params'];
  }
  if (route.query) {
    const query = route.query.safeParse(request.query);
    if (!query.success) return invalidFields('invalid_query', 'query', query.error.issues);
    request.query = query.data as HttpRequest['query'];
  }
  if (route.request) {
    const body = route.request.safeParse(request.body ?? {});
    if (!body.success) return invalidFields(route.invalidBody ?? 'invalid_request', 'request', body.error.issues);
    request.body = body.data;
  }
  try {
    return await route.handler(request);
  } catch (error) {
    if (!(error instanceof DependencyUnavailableError)) throw error;
    requestLogger(logger, request.requestId).warn(`${route.method.toUpperCase()} ${route.path}: ${error.dependency} unavailable`, { error: error.message });
    return unavailableResponse(error.message);
  }
}

/** A failure of reading a body (body-parser's or raw-body's error) as the contract's JSON error; null for any other error. */
export function bodyErrorResponse(err: unknown): HttpResponse | null {
  const error = err as { type?: string; status?: number; message?: string };
  if (error?.type === 'entity.too.large') {
    return errorResponse(413, 'payload_too_large', `Body exceeds the limit of ${(error as { limit?: number }).limit} bytes`);
  } else if (error?.type === 'entity.parse.failed') {
    return errorResponse(400, 'invalid_json', 'Body is not valid JSON');
  } else if (error?.status && error.status >= 400 && error.status < 500) {
    return errorResponse(error.status, 'bad_request', error.message ?? 'Bad request');
  }
  return null;
}

/** The answer to a request that failed unexpectedly; the error is logged with the request's id. */
export function failedRequestResponse(err: unknown, requestId: string, logger: Logger): HttpResponse {
  requestLogger(logger, requestId).error('request failed', { error: (err as Error)?.stack ?? String(err) });
  return errorResponse(500, 'internal_error', 'Internal error');
}
