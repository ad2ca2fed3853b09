import { UNAUTHENTICATED_WEBHOOK_WARNING, webhookAuthMode, type Config } from '@tsp/core';

/**
 * What ingest's /status says of how /webhook/in authenticates senders, with a warning while
 * anyone may post (WEBHOOK_AUTH=none), so an open webhook is visible where operators look.
 */
export function webhookAuthStatus(config: Config) {
  const mode = webhookAuthMode(config);
  return { webhook_auth: mode, warnings: mode === 'none' ? [UNAUTHENTICATED_WEBHOOK_WARNING] : [] };
}
