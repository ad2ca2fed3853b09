import { bearerToken, DependencyUnavailableError, errorResponse, secretGuard, secretsEqual, unavailableResponse, type Guard, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { IngestContext } from './ingest-context';
import { ADMIN_PRINCIPAL, type AdminAuth } from './admin-door';
import type { LoginThrottle } from './login-throttle';

/**
 * A credential guard that an address may fail only so often (per client address, across
 * replicas), so ADMIN_TOKEN and FINVIZ_UPDATE_TOKEN cannot be guessed at speed through any route. A right credential gives its own slot back. (The webhook
 * secret is not throttled: TradingView's senders share four addresses, and one misconfigured alert
 * must not lock out the others; give WEBHOOK_SECRET 32 random characters.)
 */
function throttled(guard: Guard, throttle: LoginThrottle): Guard {
  return {
    accepts: guard.accepts,
    readsBody: guard.readsBody,
    async check(req) {
      let attempt;
      try {
        attempt = await throttle.attempt(req.ip);
      } catch {
        // The count cannot be kept: a right credential still passes, a wrong one is not even judged.
        return (await guard.check(req)) && unavailableResponse('Redis is unavailable; credentials cannot be checked right now');
      }
      if (!attempt.allowed) {
        const refusal: HttpResponse = errorResponse(429, 'too_many_attempts', 'Too many failed credentials from this address; wait and try again');
        return { ...refusal, headers: { 'Retry-After': String(attempt.retryAfterSec) } };
      }
      const refusal = await guard.check(req);
      if (!refusal) await attempt.succeeded().catch(() => undefined);
      return refusal;
    },
  };
}

/**
 * Every guard of ingest's routes, in one place: the route table puts them on its entries, and the
 * OpenAPI document names what each accepts. Handlers never check credentials themselves.
 */
export function ingestGuards(ctx: IngestContext) {
  const { adminToken, finvizUpdateToken, webhookSecret } = ctx.config;

  /** WEBHOOK_ALLOWED_IPS: a sender outside the list is refused before its signal is read. */
  const webhookSender: Guard = {
    accepts: ['senderAddress'],
    check: (req) => (ctx.isAllowedIp(req.ip) ? null : errorResponse(403, 'forbidden', `Address ${req.ip} may not post signals (WEBHOOK_ALLOWED_IPS)`)),
  };

  /** WEBHOOK_SECRET, from the JSON field `secret` (all TradingView can send) or the X-Webhook-Secret header. */
  const webhookSecretGuard: Guard = {
    accepts: ['webhookSecret'],
    readsBody: true,
    check(req) {
      if (!webhookSecret) return null;
      const body = req.body as Record<string, unknown>;
      const given = typeof body?.secret === 'string' ? body.secret : req.headers['x-webhook-secret'];
      if (!secretsEqual(given, webhookSecret)) {
        return errorResponse(401, 'unauthorized', 'Missing or wrong webhook secret (field "secret" or header X-Webhook-Secret)');
      }
      req.principal = 'WEBHOOK_SECRET';
      req.credential = 'webhookSecret';
      return null;
    },
  };

  /** What the admin door makes of a request: null when let in (principal and credential set), else the refusal. */
  async function admitted(req: HttpRequest, accept: (auth: AdminAuth & { ok: true }) => boolean = () => true): Promise<HttpResponse | null> {
    let auth: AdminAuth;
    try {
      auth = await ctx.adminDoor.authenticate(req);
    } catch (error) {
      if (error instanceof DependencyUnavailableError) return unavailableResponse(error.message);
      throw error;
    }
    if (auth.ok && accept(auth)) {
      req.principal = auth.principal;
      req.credential = auth.principal === ADMIN_PRINCIPAL.session ? 'adminSession' : 'adminToken';
      return null;
    }
    if (!auth.ok && auth.reason === 'cross_origin') return errorResponse(403, 'forbidden', 'Cross-origin request refused: a session cookie needs Origin of this host (or a Bearer token)');
    return errorResponse(401, 'unauthorized', 'Missing or wrong Bearer token (ADMIN_TOKEN) or console session');
  }

  /**
   * ADMIN_TOKEN as a Bearer header (scripts), or the console's session cookie (browsers); a
   * state-changing request the cookie authenticates must come from the console's own origin.
   */
  const admin: Guard = { accepts: ['adminToken', 'adminSession'], check: (req) => admitted(req) };

  /**
   * A token guard that also lets the console's session in: a browser holds a session, never the
   * token, and the console offers the same actions (config, exits) as the scripts. The token is
   * judged first; without it, the session (same origin for a change) or the token's refusal.
   */
  const orConsoleSession = (guard: Guard): Guard => ({
    accepts: [...guard.accepts, 'adminSession'],
    readsBody: guard.readsBody,
    async check(req) {
      const refusal = await guard.check(req);
      if (!refusal || typeof req.headers.cookie !== 'string') return refusal;
      const bySession = await admitted(req, (auth) => auth.principal === ADMIN_PRINCIPAL.session);
      return bySession?.status === 401 ? refusal : bySession;
    },
  });

  const { credentialThrottle } = ctx;
  return {
    webhook: [webhookSender, webhookSecretGuard],
    admin: [throttled(admin, credentialThrottle)],
    /** The Finviz config routes: FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN, as a Bearer header, or the console's session. */
    finvizConfig: [throttled(orConsoleSession(secretGuard(
      [{ name: 'FINVIZ_UPDATE_TOKEN', value: finvizUpdateToken, scheme: 'finvizUpdateToken' }, { name: 'ADMIN_TOKEN', value: adminToken, scheme: 'adminToken' }],
      (req) => bearerToken(req.headers.authorization),
      'Missing or wrong Bearer token (FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN)',
    )), credentialThrottle)],
    /** The sell routes take the token in the body, as the seed did (ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN), or the console's session. */
    sellToken: [throttled(orConsoleSession(secretGuard(
      [{ name: 'ADMIN_TOKEN', value: adminToken, scheme: 'tokenInBody' }, { name: 'FINVIZ_UPDATE_TOKEN', value: finvizUpdateToken, scheme: 'tokenInBody' }],
      (req) => (req.body as Record<string, unknown> | null)?.token,
      'Missing or wrong token (ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN)',
      { readsBody: true },
    )), credentialThrottle)],
  };
}
