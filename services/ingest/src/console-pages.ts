import { z } from 'zod';
import type { AuthScheme, MountedRoute } from '@tsp/core';
import { ADMIN_SESSION_COOKIE } from './admin-session';
import { BULL_BOARD_PATH } from './bull-board';
import { CONSOLE_ASSETS_PATH } from './admin-page';

/** The console's cookie, as the OpenAPI document names it. */
export const CONSOLE_SECURITY_SCHEMES: Partial<Record<AuthScheme, Record<string, unknown>>> = {
  adminSession: { type: 'apiKey', in: 'cookie', name: ADMIN_SESSION_COOKIE, description: 'the signed, expiring session the /admin login form sets; state-changing requests also need Origin of this host' },
};

const session: AuthScheme[] = ['adminSession'];
const tag = 'console';
const page = (description: string) => ({ status: 200, contentType: 'text/html', description });

/**
 * What ingest mounts outside its route table (admin-page.ts, bull-board.ts): browser pages behind
 * the console's login, listed in the OpenAPI document so that it covers everything ingest answers.
 * A page or mount added there must be added here: the completeness test fails until it is.
 */
export const CONSOLE_PAGES: MountedRoute[] = [
  {
    method: 'get', path: '/admin', auth: session,
    docs: { tag, summary: 'The admin console (a browser page); without a session, its login form', ok: page('the console, or the login form'), errors: { 503: 'Redis down: sign-in cannot be checked' } },
  },
  {
    method: 'post', path: '/admin/login', auth: [], bodyTypes: ['application/x-www-form-urlencoded'],
    docs: {
      tag, summary: 'Sign in to the console: a form field `token` (ADMIN_TOKEN) sets the session cookie and redirects to /admin; failures are throttled per address',
      body: z.object({ token: z.string().describe('ADMIN_TOKEN') }),
      ok: { status: 303, description: 'signed in: to /admin' },
      errors: { 401: 'wrong token (the login form again)', 429: 'too many failed sign-ins from this address (Retry-After)', 503: 'Redis down: sign-in cannot be checked' },
    },
  },
  {
    method: 'post', path: '/admin/logout', auth: session,
    docs: { tag, summary: "Sign out: the session is revoked on every replica (the console's own form only)", ok: { status: 303, description: 'signed out: to /admin' }, errors: { 403: 'cross-origin request', 503: 'Redis down' } },
  },
  {
    method: 'get', path: `${CONSOLE_ASSETS_PATH}/vendor`, prefix: true, auth: session,
    docs: { tag, summary: "The console's chart library (uPlot, from its npm package), to a signed-in browser only", ok: { status: 200, contentType: 'text/javascript', description: 'the file' }, errors: { 401: 'no session', 404: 'no such file' } },
  },
  {
    method: 'get', path: CONSOLE_ASSETS_PATH, prefix: true, auth: session,
    docs: { tag, summary: "The console's own scripts and styles, to a signed-in browser only", ok: { status: 200, contentType: 'text/javascript', description: 'the file' }, errors: { 401: 'no session', 404: 'no such file' } },
  },
  {
    method: 'get', path: BULL_BOARD_PATH, prefix: true, auth: session,
    docs: { tag, summary: 'Bull Board, read-only: the queues and their jobs (a stranger is sent to the login form)', ok: page('Bull Board'), errors: { 403: 'cross-origin request', 503: 'Redis down' } },
  },
];
