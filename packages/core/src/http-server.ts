import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  DependencyUnavailableError, errorResponse, invalidFields, unavailableResponse, type HttpRequest, type HttpResponse, type Route, type ServiceApi,
} from './http-route';
import type { Logger } from './logger';
import type { TrustProxy } from './config';
import { formatIpRange } from './ip-ranges';
import { builtInRoutes, type ServiceProbes } from './service-routes';
import { registerReadinessMetric } from './readiness-metric';
import { REQUEST_ID_HEADER, requestIdFor, requestLogger } from './request-id';

/** A started service's HTTP side: its bound port and its app (whose router the completeness tests read). */
export interface ServingHttp {
  /** The bound port (*_PORT=0 picks a free one). */
  port: number;
  app: Express;
}

/** Everything a service's HTTP server is made of: what it describes (ServiceApi) and how it probes itself. */
export interface ServiceHttpOptions extends ServiceApi, ServiceProbes {
  logger: Logger;
  /** Mounts what is not a plain route (ingest's console, Bull Board), listed in `mounted`; runs after the route table. */
  mount?: (app: Express) => void;
  /** Proxies whose X-Forwarded-For names the client (TRUST_PROXY); absent or null: the connecting address is the client. */
  trustProxy?: TrustProxy | null;
}

/** TRUST_PROXY as express's `trust proxy` setting (never `true`, which believes any client's header). */
function expressTrustProxy(trust: TrustProxy | null | undefined): number | string[] | false {
  if (!trust) return false;
  return 'hops' in trust ? trust.hops : trust.proxies.map(formatIpRange);
}

/** The id of the request `res` answers (set first thing, for every request). */
const requestIdOf = (res: Response): string => res.locals.requestId as string;

function toHttpRequest(req: Request, res: Response): HttpRequest {
  return {
    params: (req.params ?? {}) as Record<string, string>,
    query: (req.query ?? {}) as Record<string, string | undefined>,
    headers: req.headers as Record<string, string | undefined>,
    body: req.body,
    method: req.method,
    // req.ip is the socket's address unless `trust proxy` believes an X-Forwarded-For hop.
    ip: req.ip ?? '',
    requestId: requestIdOf(res),
  };
}

function send(res: Response, out: HttpResponse, logger?: Logger): void {
  res.status(out.status);
  for (const [name, value] of Object.entries(out.headers ?? {})) res.setHeader(name, value);
  if (out.stream) {
    res.type(out.contentType ?? 'text/plain');
    pipeline(Readable.from(out.stream), res).catch((error: NodeJS.ErrnoException) => {
      // A client that goes away is how a live stream ends; anything else cut a body short, and all
      // a client can be told is that it ended early (no last chunk).
      if (!logger) return;
      if (error.code === 'ERR_STREAM_PREMATURE_CLOSE') requestLogger(logger, requestIdOf(res)).debug('client closed a streamed answer', { error: error.message });
      else if (!res.writableEnded) requestLogger(logger, requestIdOf(res)).warn('stream ended early', { error: error.message });
    });
  } else if (out.text !== undefined) {
    res.type(out.contentType ?? 'text/plain').send(out.text);
  } else if (out.body === undefined) {
    res.end();
  } else {
    res.json(out.body);
  }
}

function bodyReader(route: Route) {
  const limit = route.limit ?? '100kb';
  if (route.body === 'rawText') {
    const accepts = route.accepts ?? ['application/json', 'text/plain'];
    return [
      (req: Request, res: Response, next: NextFunction) => {
        if (!req.is(accepts)) {
          send(res, errorResponse(415, 'unsupported_media_type', `Content-Type must be one of ${accepts.join(', ')}`));
          return;
        }
        next();
      },
      express.text({ type: accepts, limit }),
    ];
  }
  if (route.body === 'none') return [];
  return [express.json({ limit })];
}

/** Turns a body-parser failure into the contract's JSON error. */
function bodyErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const error = err as { type?: string; status?: number; message?: string };
  if (error?.type === 'entity.too.large') {
    send(res, errorResponse(413, 'payload_too_large', `Body exceeds the limit of ${(error as { limit?: number }).limit} bytes`));
  } else if (error?.type === 'entity.parse.failed') {
    send(res, errorResponse(400, 'invalid_json', 'Body is not valid JSON'));
  } else if (error?.status && error.status >= 400 && error.status < 500) {
    send(res, errorResponse(error.status, 'bad_request', error.message ?? 'Bad request'));
  } else {
    next(err);
  }
}

/**
 * One request through its route: the guards that need no body, the route's own body parser, the
 * guards that read it, its query and body schemas, then the handler. A dependency the handler
 * finds down answers 503.
 */
async function serveRoute(route: Route, request: HttpRequest, logger: Logger): Promise<HttpResponse> {
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

export function createServiceApp(options: ServiceHttpOptions): Express {
  const { logger } = options;
  registerReadinessMetric(options);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', expressTrustProxy(options.trustProxy));

  // Before anything else, so that every answer names its request (a 404, a refused body, Bull
  // Board's pages); its handler's log lines carry the id (HttpRequest.requestId).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    next();
  });

  // Core's routes (/health, /ready, /status, /metrics, /openapi.json, /docs) are route entries
  // like the service's own: registered the same way, described in the same document.
  for (const route of [...builtInRoutes(options, options), ...options.routes]) {
    app[route.method](route.path, ...bodyReader(route), async (req: Request, res: Response) => {
      send(res, await serveRoute(route, toHttpRequest(req, res), logger), logger);
    });
  }

  options.mount?.(app);

  app.use(bodyErrorHandler);
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error('request failed', { error: (err as Error)?.stack ?? String(err), request_id: requestIdOf(res) });
    if (!res.headersSent) send(res, errorResponse(500, 'internal_error', 'Internal error'));
  });
  app.use((_req: Request, res: Response) => {
    send(res, errorResponse(404, 'not_found', 'No such route'));
  });
  return app;
}

export function listen(app: Express, port: number): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    // Keep-alive longer than common load balancers' idle timeouts to avoid reset races.
    server.keepAliveTimeout = 65_000;
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 3000).unref();
  });
}
