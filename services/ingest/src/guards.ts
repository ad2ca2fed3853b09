import { bearerToken, DependencyUnavailableError, errorResponse, secretGuard, secretsEqual, unavailableResponse, type Guard } from '@tsp/core';
import type { IngestContext } from './ingest-context';
import type { AdminAuth } from './admin-door';

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
    check(req) {
      if (!webhookSecret) return null;
      const body = req.body as Record<string, unknown>;
      const given = typeof body?.secret === 'string' ? body.secret : req.headers['x-webhook-secret'];
      if (!secretsEqual(given, webhookSecret)) {
        return errorResponse(401, 'unauthorized', 'Missing or wrong webhook secret (field "secret" or header X-Webhook-Secret)');
      }
      req.principal = 'WEBHOOK_SECRET';
      return null;
    },
  };

  /**
   * ADMIN_TOKEN as a Bearer header (scripts), or the console's session cookie (browsers); a
   * state-changing request the cookie authenticates must come from the console's own origin.
   */
  const admin: Guard = {
    accepts: ['adminToken', 'adminSession'],
    async check(req) {
      let auth: AdminAuth;
      try {
        auth = await ctx.adminDoor.authenticate(req);
      } catch (error) {
        if (error instanceof DependencyUnavailableError) return unavailableResponse(error.message);
        throw error;
      }
      if (auth.ok) {
        req.principal = auth.principal;
        return null;
      }
      if (auth.reason === 'cross_origin') return errorResponse(403, 'forbidden', 'Cross-origin request refused: a session cookie needs Origin of this host (or a Bearer token)');
      return errorResponse(401, 'unauthorized', 'Missing or wrong Bearer token (ADMIN_TOKEN) or console session');
    },
  };

  return {
    webhook: [webhookSender, webhookSecretGuard],
    admin: [admin],
    /** The Finviz config routes: FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN, as a Bearer header. */
    finvizConfig: [secretGuard(
      [{ name: 'FINVIZ_UPDATE_TOKEN', value: finvizUpdateToken, scheme: 'finvizUpdateToken' }, { name: 'ADMIN_TOKEN', value: adminToken, scheme: 'adminToken' }],
      (req) => bearerToken(req.headers.authorization),
      'Missing or wrong Bearer token (FINVIZ_UPDATE_TOKEN or ADMIN_TOKEN)',
    )],
    /** The sell routes take the token in the body, as the seed did: ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN. */
    sellToken: [secretGuard(
      [{ name: 'ADMIN_TOKEN', value: adminToken, scheme: 'tokenInBody' }, { name: 'FINVIZ_UPDATE_TOKEN', value: finvizUpdateToken, scheme: 'tokenInBody' }],
      (req) => (req.body as Record<string, unknown> | null)?.token,
      'Missing or wrong token (ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN)',
    )],
  };
}
