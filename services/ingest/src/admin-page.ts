import type { Express, Request, Response } from 'express';
import express from 'express';
import { secretsEqual } from '@tsp/core';
import { ADMIN_COOKIE, BULL_BOARD_PATH, isAdminRequest } from './bull-board';

const COOKIE_MAX_AGE_SEC = 12 * 3600;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const page = (title: string, body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}code{background:#f4f4f4}</style>
</head><body>${body}</body></html>`;

const loginForm = (error = '') => page('tsp admin — sign in', `<h1>tsp admin</h1>${error ? `<p style="color:#b00">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/admin/login"><label>Admin token <input type="password" name="token" autofocus></label> <button type="submit">Sign in</button></form>`);

/**
 * The admin console: a login form that sets a cookie (browsers cannot send Bearer headers to
 * Bull Board), and a page that reads the relay's own JSON endpoints.
 */
export function mountAdminPage(app: Express, adminToken: string | null): void {
  app.get('/admin', (req: Request, res: Response) => {
    if (!isAdminRequest(req.headers, adminToken)) {
      res.type('html').send(loginForm(adminToken ? '' : 'ADMIN_TOKEN is not configured; the console is disabled.'));
      return;
    }
    res.type('html').send(page('tsp admin', `<h1>tsp admin</h1>
<p><a href="${BULL_BOARD_PATH}">Queues (Bull Board)</a> · <a href="/status">/status</a> · <a href="/finviz/topn">/finviz/topn</a> · <a href="/metrics">/metrics</a></p>
<h2>Top-N</h2><p id="topn">loading…</p>
<h2>Open positions</h2><table id="positions"><tr><th>ticker</th><th>opened</th><th>last price</th></tr></table>
<h2>Dead deliveries</h2><p><button id="replay-all">Replay all</button> <span id="replay-msg"></span></p>
<table id="dead"><tr><th>received</th><th>ticker</th><th>side</th><th>reason</th><th>last attempt</th><th></th></tr></table>
<h2>Latest signals</h2><table id="signals"><tr><th>received</th><th>ticker</th><th>side</th><th>status</th><th>reason / basis</th><th>rank</th></tr></table>
<script>
fetch('/finviz/topn').then(r=>r.json()).then(t=>{document.getElementById('topn').textContent=t.tickers?t.tickers.join(', ')+' (age '+t.age_sec+' s'+(t.stale?', STALE':'')+')':t.message});
const get=(path)=>fetch(path,{credentials:'same-origin'}).then(r=>r.json());
const post=(path)=>fetch(path,{method:'POST',credentials:'same-origin'}).then(async r=>({status:r.status,body:await r.json()}));
get('/positions').then(list=>{const table=document.getElementById('positions');for(const p of list||[]){const row=table.insertRow();for(const v of [p.ticker,p.opened_at,p.last_price??''])row.insertCell().textContent=v;}});
get('/admin/dead?limit=100').then(list=>{const table=document.getElementById('dead');for(const s of list.items||[]){const row=table.insertRow();const last=s.deliveries[s.deliveries.length-1];for(const v of [s.received_at,s.ticker,s.side,s.reason,last?(last.http_status??'')+' '+(last.error??''):''])row.insertCell().textContent=v;const button=document.createElement('button');button.textContent='Replay';button.onclick=()=>post('/admin/dead/'+s.id+'/replay').then(r=>{button.replaceWith(r.status===202?'replayed':r.body.message);});row.insertCell().appendChild(button);}});
document.getElementById('replay-all').onclick=()=>post('/admin/dead/replay-all').then(r=>{document.getElementById('replay-msg').textContent=r.status===202?'replayed '+r.body.ids.length:r.body.message;});
fetch('/signals?limit=50',{credentials:'same-origin'}).then(r=>r.json()).then(list=>{const table=document.getElementById('signals');for(const s of list.items||[]){const row=table.insertRow();for(const v of [s.received_at,s.ticker,s.side,s.status,s.reason||s.basis||'',s.rank??''])row.insertCell().textContent=v;}});
</script>`));
  });

  app.post('/admin/login', express.urlencoded({ extended: false, limit: '4kb' }), (req: Request, res: Response) => {
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    if (!adminToken || !secretsEqual(token, adminToken)) {
      res.status(401).type('html').send(loginForm('Wrong token.'));
      return;
    }
    res.setHeader('Set-Cookie', `${ADMIN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${COOKIE_MAX_AGE_SEC}`);
    res.redirect(303, '/admin');
  });
}
