import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The saved Finviz pages in the repository (fixtures/finviz), shared with the demo. */
export const FIXTURE_DIR = path.resolve(__dirname, '../../../fixtures/finviz');

export const FIXTURE_PAGES = ['finviz-screener-v111-2023.html', 'finviz-screener-v111-2025.html', 'finviz-screener-v111-2026.html'] as const;

export function fixturePage(name: string): string {
  return readFileSync(path.join(FIXTURE_DIR, name), 'utf8');
}

/** Each page's tickers in page order, as a person reads them off the page. */
export function fixtureTickers(): Record<string, string[]> {
  return JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'tickers.json'), 'utf8'));
}

/** Finviz's rate-limit answer, sometimes sent with HTTP 200: no results table. */
export const TOO_MANY_REQUESTS_PAGE = '<!DOCTYPE html><html><head><title>Too Many Requests</title></head><body><h1>Too Many Requests</h1><p>Please slow down.</p></body></html>';

/** Cloudflare's managed-challenge interstitial (trimmed). */
export const CHALLENGE_PAGE = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper" role="main">
<div class="main-content"><h1 class="zone-name-title h1">finviz.com</h1>
<h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2>
<noscript><div id="challenge-error-title">Enable JavaScript and cookies to continue</div></noscript></div></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "finviz.com",cType: 'managed'};}());</script>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></body></html>`;
