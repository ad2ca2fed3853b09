// Reads .env from the repository root if present; variables already in the environment win.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SERVICES = ['ingest', 'screener', 'approver', 'forwarder'];

function loadEnv() {
  const file = path.join(ROOT, '.env');
  if (fs.existsSync(file)) process.loadEnvFile(file);
}

function serviceMain(name) {
  const main = path.join(ROOT, 'services', name, 'dist', 'main.js');
  if (!fs.existsSync(main)) {
    console.error(`services/${name} is not built: run "pnpm build" first`);
    process.exit(1);
  }
  return main;
}

module.exports = { ROOT, SERVICES, loadEnv, serviceMain };
