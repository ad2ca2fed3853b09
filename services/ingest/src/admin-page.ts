import type { Express, Request, Response } from 'express';
import express from 'express';
import { DependencyUnavailableError, RETRY_AFTER_SEC } from '@tsp/core';
import type { AdminDoor } from './admin-door';
import { BULL_BOARD_PATH } from './bull-board';
import { isSameOriginRequest } from './same-origin';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const page = (title: string, body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}code{background:#f4f4f4}</style>
</head><body>${body}</body></html>`;

const loginForm = (error = '') => page('tsp admin — sign in', `<h1>tsp admin</h1>${error ? `<p style="color:#b00">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/admin/login"><label>Admin token <input type="password" name="token" autofocus></label> <button type="submit">Sign in</button></form>`);

const DISABLED = 'ADMIN_TOKEN is not configured; the console is disabled.';

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
      res.status(503).set('Retry-After', String(RETRY_AFTER_SEC)).type('html').send(loginForm('Redis is unavailable; sign-in cannot be checked. Try again shortly.'));
    }
  };
}

/**
 * The admin console: a login form that issues a session cookie (browsers cannot send Bearer
 * headers to Bull Board), a page that reads the relay's own JSON endpoints, and sign-out.
 */
export function mountAdminPage(app: Express, door: AdminDoor): void {
  app.get('/admin', whenRedisAnswers(async (req, res) => {
    if (!(await door.authenticate(req)).ok) {
      res.type('html').send(loginForm(door.enabled ? '' : DISABLED));
      return;
    }
    res.type('html').send(page('tsp admin', `<h1>tsp admin</h1>
<form method="post" action="/admin/logout" style="float:right"><button type="submit">Sign out</button></form>
<p><a href="${BULL_BOARD_PATH}">Queues (Bull Board)</a> · <a href="/status">/status</a> · <a href="/finviz/topn">/finviz/topn</a> · <a href="/metrics">/metrics</a></p>
<h2>Top-N</h2><p id="topn">loading…</p>
<h2>Delivery</h2><p id="rate">loading…</p>
<h2>Open positions</h2><table id="positions"><tr><th>ticker</th><th>opened</th><th>last price</th></tr></table>
<h2>Dead deliveries</h2><p><button id="replay-all">Replay all</button> <span id="replay-msg"></span></p>
<table id="dead"><tr><th>received</th><th>ticker</th><th>side</th><th>reason</th><th>last attempt</th><th></th></tr></table>
<h2>Latest signals</h2><table id="signals"><tr><th>received</th><th>ticker</th><th>side</th><th>status</th><th>reason / basis</th><th>rank</th></tr></table>
<script>
fetch('/status').then(r=>r.json()).then(s=>{const l=s.rate_limiter;const when=(t)=>t?new Date(t).toLocaleTimeString():'—';document.getElementById('rate').textContent=(l.enabled?'Limits '+l.max_per_min+'/min and '+l.max_per_hour+'/hour':'No rate limit')+'; '+l.backlog+' deliveries pending; next may start '+when(l.next_start_at)+'; backlog clears '+when(l.clears_at)+(s.delivery_paused?' (PAUSED)':'')+'; late entries refused after '+(s.signal_max_lag_sec||'never (off)')+(s.signal_max_lag_sec?' s':'');});
fetch('/finviz/topn').then(r=>r.json()).then(t=>{document.getElementById('topn').textContent=t.tickers?t.tickers.join(', ')+' (age '+t.age_sec+' s'+(t.stale?', STALE':'')+')':t.message});
const get=(path)=>fetch(path,{credentials:'same-origin'}).then(r=>r.json());
const post=(path)=>fetch(path,{method:'POST',credentials:'same-origin'}).then(async r=>({status:r.status,body:await r.json()}));
get('/positions').then(list=>{const table=document.getElementById('positions');for(const p of list||[]){const row=table.insertRow();for(const v of [p.ticker,p.opened_at,p.last_price??''])row.insertCell().textContent=v;}});
get('/admin/dead?limit=100').then(list=>{const table=document.getElementById('dead');for(const s of list.items||[]){const row=table.insertRow();const last=s.deliveries[s.deliveries.length-1];for(const v of [s.received_at,s.ticker,s.side,s.reason,last?(last.http_status??'')+' '+(last.error??''):''])row.insertCell().textContent=v;const button=document.createElement('button');button.textContent='Replay';const replay=(force)=>post('/admin/dead/'+s.id+'/replay'+(force?'?force=true':'')).then(r=>{if(r.status===409&&r.body.error==='past_ttl'&&!force&&confirm(r.body.message+'\\n\\nReplay this old trade anyway?'))return replay(true);button.replaceWith(r.status===202?'replayed':r.body.message);});button.onclick=()=>replay(false);row.insertCell().appendChild(button);}});
document.getElementById('replay-all').onclick=()=>post('/admin/dead/replay-all').then(r=>{document.getElementById('replay-msg').textContent=r.status===202?'replayed '+r.body.ids.length:r.body.message;});
fetch('/signals?limit=50',{credentials:'same-origin'}).then(r=>r.json()).then(list=>{const table=document.getElementById('signals');for(const s of list.items||[]){const row=table.insertRow();for(const v of [s.received_at,s.ticker,s.side,s.status,s.reason||s.basis||'',s.rank??''])row.insertCell().textContent=v;}});
</script>`));
  }));

  app.post('/admin/login', express.urlencoded({ extended: false, limit: '4kb' }), whenRedisAnswers(async (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    // req.ip: the client as TRUST_PROXY lets express see it, so each address behind a proxy has its own count.
    const result = await door.signIn(token, req.ip ?? '');
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
