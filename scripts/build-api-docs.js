// Part of `pnpm build`, after every package is compiled: writes the OpenAPI documents of the
// screener, the approver and the forwarder, built from their route tables, where ingest reads
// them (services/ingest/dist/api-docs/<service>.json) to present them at its /docs beside its own.
// Ingest is the port an operator reaches (the others are internal, and the ingress exposes ingest
// alone), and no service imports another's code: so the copies are made here, at build time.
const fs = require('node:fs');
const path = require('node:path');
const { ROOT } = require('./load-env');

const { loadConfig } = require(path.join(ROOT, 'packages', 'core', 'dist'));

/** Where each service listens by default, and the variable that moves it. */
const PRESENTED = { screener: 'SCREENER_PORT', approver: 'APPROVER_PORT', forwarder: 'FORWARDER_PORT' };

// The contract's defaults: the documents depend on no deployment's settings.
const config = loadConfig({});
const out = path.join(ROOT, 'services', 'ingest', 'dist', 'api-docs');
fs.mkdirSync(out, { recursive: true });
for (const [service, portVariable] of Object.entries(PRESENTED)) {
  const { serviceApiDocument } = require(path.join(ROOT, 'services', service, 'dist', 'api-document.js'));
  const document = serviceApiDocument(config);
  // The copy is shown from ingest's port: its calls go to the service's own port. (/docs's
  // Content-Security-Policy keeps the browser on ingest's origin, so try them on that port's /docs.)
  document.servers = [{
    url: 'http://{host}:{port}',
    description: `the ${service}'s own port (${portVariable}); open its /docs there to try these calls`,
    variables: { host: { default: 'localhost' }, port: { default: String(config.ports[service]), description: portVariable } },
  }];
  fs.writeFileSync(path.join(out, `${service}.json`), `${JSON.stringify(document, null, 2)}\n`);
}
console.log(`API documents of ${Object.keys(PRESENTED).join(', ')} written to ${path.relative(ROOT, out)}`);
