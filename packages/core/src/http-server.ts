import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { bodyLimitOf, errorResponse, rawTextTypesOf, type HttpRequest, type HttpResponse, type Route, type ServiceApi } from './http-route';
import { bodyErrorResponse, failedRequestResponse, serveRoute } from './serve-route';
import { assertPlainlyServable, plainRouteListener } from './plain-route-server';
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

/** A route's body parser. plain-route-server.ts reads a plainHttp route's body as this does for rawText: change both together. */
function bodyReader(route: Route) {
  const limit = bodyLimitOf(route);
  if (route.body === 'rawText') {
    const accepts = rawTextTypesOf(route);
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
  const refusal = bodyErrorResponse(err);
  if (refusal) send(res, refusal);
  else next(err);
}

/** The plain node:http server in front of an app that has plainHttp routes (plain-route-server.ts). */
const plainFronts = new WeakMap<Express, http.RequestListener>();

export function createServiceApp(options: ServiceHttpOptions): Express {
  const { logger } = options;
  registerReadinessMetric(options);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', expressTrustProxy(options.trustProxy));

  // Before anything else, so that every answer names its request (a 404, a refused body, Bull
  // Board's pages); its handler's log lines carry the id (HttpRequest.requestId).
  const nameRequest = (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    next();
  };
  app.use(nameRequest);

  // Core's routes (/health, /ready, /status, /metrics, /openapi.json, /docs) are route entries
  // like the service's own: registered the same way, described in the same document.
  const plain: { route: Route; registered: unknown }[] = [];
  for (const route of [...builtInRoutes(options, options), ...options.routes]) {
    const registered = app.route(route.path)[route.method](...bodyReader(route), async (req: Request, res: Response) => {
      send(res, await serveRoute(route, toHttpRequest(req, res), logger), logger);
    });
    if (route.plainHttp) plain.push({ route, registered });
  }

  options.mount?.(app);
  // The plain path does what nameRequest does itself; any other middleware before a plain route would be skipped there.
  for (const { route, registered } of plain) assertPlainlyServable(route, app, registered, [nameRequest]);
  if (plain.length) plainFronts.set(app, plainRouteListener(plain.map(({ route }) => route), app, logger));

  app.use(bodyErrorHandler);
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const failure = failedRequestResponse(err, requestIdOf(res), logger);
    if (!res.headersSent) send(res, failure);
  });
  app.use((_req: Request, res: Response) => {
    send(res, errorResponse(404, 'not_found', 'No such route'));
  });
  return app;
}

export function listen(app: Express, port: number): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(plainFronts.get(app) ?? app);
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
