import fs from 'node:fs';
import path from 'node:path';
import type { HttpResponse } from '../http-route';

/** sha256 of `.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}` (swagger-ui-dist 5.35.0, pinned). */
const SWAGGER_LOGO_STYLE_HASH = 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w=';

/**
 * GET /docs: Swagger UI (swagger-ui-dist from npm) served from this service, no CDN. The page,
 * its scripts and its styles all come from this origin, and its Content-Security-Policy lets
 * nothing else in: no inline script (the initializer is a file), no request to another origin.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  // Scripts and stylesheets are files of this origin only;
  "script-src 'self'",
  // and the one <style> Swagger UI writes itself (its top bar's logo, an SVG), by its hash.
  `style-src 'self' '${SWAGGER_LOGO_STYLE_HASH}'`,
  // Swagger UI's stylesheet draws its icons as data: images.
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SWAGGER_UI = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** The initializer, beside the package (../../assets from src/openapi and from dist/openapi alike). */
const ASSETS = path.resolve(__dirname, '..', '..', 'assets');

/** Every file the page loads, by the name it is asked for under /docs/assets/. */
const DOCS_ASSETS = {
  'swagger-ui.css': { file: path.join(SWAGGER_UI, 'swagger-ui.css'), contentType: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: path.join(SWAGGER_UI, 'swagger-ui-bundle.js'), contentType: 'text/javascript; charset=utf-8' },
  'swagger-ui-standalone-preset.js': { file: path.join(SWAGGER_UI, 'swagger-ui-standalone-preset.js'), contentType: 'text/javascript; charset=utf-8' },
  'api-docs-init.js': { file: path.join(ASSETS, 'api-docs-init.js'), contentType: 'text/javascript; charset=utf-8' },
};
export type DocsAsset = keyof typeof DOCS_ASSETS;
export const DOCS_ASSET_NAMES = Object.keys(DOCS_ASSETS) as [DocsAsset, ...DocsAsset[]];

const SAFE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': DOCS_CSP };

const escapeAttribute = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: Swagger UI over `documents` (the first one opens), listed in a drop-down by name. */
export function docsPage(title: string, documents: { name: string; url: string }[]): HttpResponse {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeAttribute(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-documents="${escapeAttribute(JSON.stringify(documents))}"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/api-docs-init.js"></script>
</body></html>`;
  return { status: 200, text: html, contentType: 'text/html; charset=utf-8', headers: SAFE_HEADERS };
}

const loaded = new Map<DocsAsset, string>();

/** One of the page's files, read from disk once. */
export function docsAsset(name: DocsAsset): HttpResponse {
  const asset = DOCS_ASSETS[name];
  let text = loaded.get(name);
  if (text === undefined) {
    text = fs.readFileSync(asset.file, 'utf8');
    loaded.set(name, text);
  }
  return { status: 200, text, contentType: asset.contentType, headers: { ...SAFE_HEADERS, 'Cache-Control': 'public, max-age=3600' } };
}
