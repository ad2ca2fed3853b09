import type http from 'node:http';
import { parse as parseContentType } from 'content-type';
import type { Express } from 'express';
import proxyaddr from 'proxy-addr';
import getRawBody from 'raw-body';
import { bodyLimitOf, rawTextTypesOf, type HttpRequest, type HttpResponse, type Route } from './http-route';
import type { Logger } from './logger';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id';
import { bodyErrorResponse, failedRequestResponse, serveRoute } from './serve-route';

/*
 * Why this exists: on ingest's POST /webhook/in, express itself (its router walking the route
 * table, the request and response objects it re-prototypes, res.json's header work) cost as much
 * per request as reading, checking and queueing the signal. bench:ingest measured ingest at 0.48 of
 * a bare express echo with 0.17–0.19 ms of CPU per request; served here, 1.05 of it with
 * 0.08–0.09 ms. Routes marked `plainHttp` are served on plain node:http, ahead of express, with
 * express's steps and answers: the request id, the body read by raw-body (body-parser's reader) with
 * the route's limit, serveRoute, and the JSON answer res.json would send.
 *
 * Only requests that express would treat exactly so are taken: anything else (another method or
 * path spelling, a compressed body, a content type or charset the route does not read as UTF-8
 * text, no body) is handed to express untouched, which answers it (415 included) as it always has.
 */

/** A media type as type-is matches it literally: no wildcard, no `+suffix`, no shorthand like "json". */
const LITERAL_MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
/** A path without parameters, wildcards or optional parts: the only URL path express matches it with is itself. */
const FIXED_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
/** Characters that make parseurl (express's URL parser) fall back to url.parse: such URLs go to express. */
const NOT_PLAIN_URL = /[\t\n\f\r #\u00a0\ufeff]/;

/** What this file reads of express's router: its layers in order, a route's methods, a layer's path match. */
interface RouterLayer {
  route?: { methods: Record<string, boolean | undefined> };
  handle: unknown;
  match(path: string): unknown;
}

/**
 * Throws unless `route` can be served here with express's answers: a rawText route that is not a
 * GET (express also answers HEAD for those), of a fixed path, accepting literal media types, and
 * the route express itself would pick for its method and path (`registered`, not an earlier entry
 * whose pattern matches the path too), with no middleware before it but `mirrored` (what the plain
 * path does itself): any other would be skipped on the plain path.
 */
export function assertPlainlyServable(route: Route, app: Express, registered: unknown, mirrored: unknown[] = []): void {
  const refuse = (why: string) => {
    throw new Error(`${route.method.toUpperCase()} ${route.path} is marked plainHttp but cannot be served plainly: ${why}`);
  };
  if (route.body !== 'rawText') refuse(`its body is ${JSON.stringify(route.body ?? 'json')}, not "rawText"`);
  if (route.method === 'get') refuse('it is a GET (express answers HEAD for it too)');
  if (!FIXED_PATH.test(route.path)) refuse('its path has parameters or pattern characters');
  const odd = rawTextTypesOf(route).filter((type) => !LITERAL_MEDIA_TYPE.test(type));
  if (odd.length) refuse(`accepts has ${odd.join(', ')}; only lowercase type/subtype names`);
  const { stack } = (app as unknown as { router: { stack: RouterLayer[] } }).router;
  const first = stack.find((layer) => (layer.route?.methods[route.method] || layer.route?.methods._all) && layer.match(route.path));
  if (first?.route !== registered) refuse('an earlier route of the table matches its method and path');
  const before = stack.slice(0, stack.indexOf(first as RouterLayer));
  if (before.some((layer) => !layer.route && !mirrored.includes(layer.handle) && layer.match(route.path))) {
    refuse('a middleware runs before it that the plain path would skip');
  }
}

/**
 * body-parser's test of a request it reads as UTF-8 text: a body, no Content-Encoding but identity,
 * one of `accepts` as its type, UTF-8 or no charset.
 */
function readsAsExpressWould(req: http.IncomingMessage, url: string, accepts: string[]): boolean {
  if (NOT_PLAIN_URL.test(url)) return false;
  if ((req.headers['content-encoding'] || 'identity').toLowerCase() !== 'identity') return false;
  // type-is's hasBody: neither header, and express answers 415.
  if (req.headers['transfer-encoding'] === undefined && Number.isNaN(Number(req.headers['content-length']))) return false;
  const header = req.headers['content-type'];
  if (!header) return false;
  try {
    const type = parseContentType(header);
    const charset = type.parameters.charset;
    return accepts.includes(type.type) && (charset === undefined || charset.toLowerCase() === 'utf-8');
  } catch {
    return false;
  }
}

/** body-parser's `dump`: the rest of a refused body is read off before the answer, so the connection can be reused. */
function afterRequest(req: http.IncomingMessage, then: () => void): void {
  if (!req.socket?.readable || (req.complete && !req.readable)) {
    then();
    return;
  }
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    then();
  };
  req.once('end', once);
  req.once('close', once);
  req.resume();
}

/** What express's res.status() and res.json() (or res.end() for no body) would write for `out`. */
function answer(res: http.ServerResponse, out: HttpResponse): void {
  if (!Number.isInteger(out.status) || out.status < 100 || out.status > 999) throw new RangeError(`Invalid status code: ${out.status}`);
  res.statusCode = out.status;
  for (const [name, value] of Object.entries(out.headers ?? {})) res.setHeader(name, value);
  if (out.stream || out.text !== undefined || res.hasHeader('Content-Type')) {
    throw new Error('a plainHttp route answers JSON or nothing (no text, stream or Content-Type of its own)');
  }
  if (out.body === undefined) {
    res.end();
    return;
  }
  const json = JSON.stringify(out.body) as string | undefined;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  if (json !== undefined) res.setHeader('Content-Length', String(Buffer.byteLength(json)));
  if (out.status === 204 || out.status === 304) {
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    res.end('');
  } else if (out.status === 205) {
    res.setHeader('Content-Length', '0');
    res.end('');
  } else {
    res.end(json);
  }
}

/**
 * The request listener to put in front of `app`: routes marked plainHttp (checked with
 * assertPlainlyServable) are served here when the request allows it, everything else by `app`.
 */
export function plainRouteListener(routes: Route[], app: Express, logger: Logger): http.RequestListener {
  const byPath = new Map(routes.map((route) => [route.path, route]));
  // Express's own compiled settings, so that req.ip and req.query come out as express makes them;
  // read at each request, as express does, so a setting changed later holds here too.
  const trust = () => app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  const parseQuery = () => app.get('query parser fn') as ((query: string | null) => Record<string, string | undefined>) | undefined;

  function serve(req: http.IncomingMessage, res: http.ServerResponse, route: Route, query: string | null, requestId: string): void {
    const fail = (error: unknown) => {
      try {
        // What a failed answer had set is not the 500's (its request id is).
        for (const name of res.getHeaderNames()) if (name !== REQUEST_ID_HEADER.toLowerCase()) res.removeHeader(name);
        answer(res, failedRequestResponse(error, requestId, logger));
      } catch {
        res.destroy();
      }
    };
    const reply = (out: HttpResponse) => {
      try {
        answer(res, out);
      } catch (error) {
        fail(error);
      }
    };
    getRawBody(req, { length: req.headers['content-length'], limit: bodyLimitOf(route), encoding: 'utf-8' }, (error, text) => {
      if (error) {
        afterRequest(req, () => {
          const refusal = bodyErrorResponse(error);
          if (refusal) reply(refusal);
          else fail(error);
        });
        return;
      }
      let request: HttpRequest;
      try {
        request = {
          params: {},
          query: parseQuery()?.(query) ?? {},
          headers: req.headers as Record<string, string | undefined>,
          body: text,
          method: req.method ?? '',
          ip: proxyaddr(req, trust()) ?? '',
          requestId,
        };
      } catch (failure) {
        // Where express's router would catch it (its handler builds the request): a 500, not a crash.
        fail(failure);
        return;
      }
      serveRoute(route, request, logger).then(reply, fail);
    });
  }

  return (req, res) => {
    const url = req.url ?? '';
    const mark = url.indexOf('?');
    const route = byPath.get(mark === -1 ? url : url.slice(0, mark));
    if (!route || req.method !== route.method.toUpperCase() || !readsAsExpressWould(req, url, rawTextTypesOf(route))) {
      app(req, res);
      return;
    }
    // As the request-id middleware in front of express does.
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    serve(req, res, route, mark === -1 ? null : url.slice(mark + 1), requestId);
  };
}
