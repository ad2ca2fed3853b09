import type { Express, NextFunction, Request, Response } from 'express';
import express from 'express';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { DependencyUnavailableError, RETRY_AFTER_SEC } from '@tsp/core';
import type { AdminDoor } from './admin-door';
import { BULL_BOARD_PATH } from './bull-board';
import { isSameOriginRequest } from './same-origin';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const LOGIN_STYLE = 'body{font-family:system-ui,sans-serif;margin:2rem;max-width:40rem}.error{color:#b00}input{margin:0 .5rem}';

const loginForm = (error = '') => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tsp admin — sign in</title>
<style>${LOGIN_STYLE}</style></head><body><h1>tsp admin</h1>${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/admin/login"><label>Admin token <input type="password" name="token" autofocus></label> <button type="submit">Sign in</button></form></body></html>`;

const DISABLED = 'ADMIN_TOKEN is not configured; the console is disabled.';

/**
 * The console's policy: its own scripts, styles and API only (no inline script can run, nothing
 * from another host is loaded, no other site may frame it). The login form, served to strangers
 * who cannot load the console's files, may use only its one inline style, named by its hash.
 */
const CONSOLE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const LOGIN_POLICY = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(LOGIN_STYLE).digest('base64')}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

/** The console's own files (HTML shell, ES modules, CSS), beside src/ and dist/. */
const CONSOLE_DIR = path.join(__dirname, '..', 'console');
/** The chart library, served from its npm package (no CDN). */
const UPLOT_DIR = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
export const CONSOLE_ASSETS_PATH = '/admin/assets';

const securityHeaders = (policy: string) => ({
  'Content-Security-Policy': policy, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin', 'Cache-Control': 'no-store',
});

/**
 * Answers 503 when Redis cannot say whether a session or login attempt is allowed: the console
 * never lets anyone in unchecked, and never says "wrong token" for an outage.
 */
function whenRedisAnswers(handler: (req: Request, res: Response) => Promise<void>) {
  return async (req: Request, res: Response) => {
    try {
      await handler(req, res);
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      res.status(503).set('Retry-After', String(RETRY_AFTER_SEC)).set(securityHeaders(LOGIN_POLICY)).type('html').send(loginForm('Redis is unavailable; sign-in cannot be checked. Try again shortly.'));
    }
  };
}

/**
 * The admin console: a login form that issues a session cookie (browsers cannot send Bearer
 * headers to Bull Board), the console's page and files (served only to a signed-in browser), and
 * sign-out. The page is a shell; its ES modules read and act through the relay's JSON routes.
 */
export function mountAdminPage(app: Express, door: AdminDoor): void {
  const shell = fs.readFileSync(path.join(CONSOLE_DIR, 'console.html'), 'utf8').replaceAll('{{BULL_BOARD_PATH}}', BULL_BOARD_PATH);

  app.get('/admin', whenRedisAnswers(async (req, res) => {
    if (!(await door.authenticate(req)).ok) {
      res.set(securityHeaders(LOGIN_POLICY)).type('html').send(loginForm(door.enabled ? '' : DISABLED));
      return;
    }
    res.set(securityHeaders(CONSOLE_POLICY)).type('html').send(shell);
  }));

  // The files are no secret, but the console is for signed-in operators only: a stranger gets 401.
  // Express 5 passes a rejected promise of a middleware on as an error (a 500), never an unhandled rejection.
  const signedIn = (req: Request, res: Response, next: NextFunction) => whenRedisAnswers(async () => {
    if ((await door.authenticate(req)).ok) {
      res.set(securityHeaders(CONSOLE_POLICY));
      next();
      return;
    }
    res.status(401).json({ error: 'unauthorized', message: 'Sign in at /admin first' });
  })(req, res);
  const files = { fallthrough: false, index: false, dotfiles: 'deny', etag: false, lastModified: false, cacheControl: false } as const;
  app.use(`${CONSOLE_ASSETS_PATH}/vendor`, signedIn, express.static(UPLOT_DIR, files));
  app.use(CONSOLE_ASSETS_PATH, signedIn, express.static(CONSOLE_DIR, files));

  app.post('/admin/login', express.urlencoded({ extended: false, limit: '4kb' }), whenRedisAnswers(async (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    // req.ip: the client as TRUST_PROXY lets express see it, so each address behind a proxy has its own count.
    const result = await door.signIn(token, req.ip ?? '');
    res.set(securityHeaders(LOGIN_POLICY));
    if (result.ok) {
      res.setHeader('Set-Cookie', result.cookie(req.secure));
      res.redirect(303, '/admin');
    } else if (result.reason === 'throttled') {
      res.status(429).set('Retry-After', String(result.retryAfterSec)).type('html')
        .send(loginForm(`Too many failed sign-ins from this address; try again in ${result.retryAfterSec} s.`));
    } else {
      res.status(401).type('html').send(loginForm(result.reason === 'disabled' ? DISABLED : 'Wrong token.'));
    }
  }));

  app.post('/admin/logout', whenRedisAnswers(async (req, res) => {
    // Signing someone out from another site is a nuisance attack; only the console's own form may.
    if (!isSameOriginRequest(req.headers)) {
      res.status(403).json({ error: 'forbidden', message: 'Cross-origin request refused: Origin is not this host' });
      return;
    }
    await door.signOut(req);
    res.setHeader('Set-Cookie', door.clearedCookie(req.secure));
    res.redirect(303, '/admin');
  }));
}
